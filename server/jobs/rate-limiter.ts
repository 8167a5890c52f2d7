/** A sliding-window limit per key (per user, account or address), kept in memory: each orchestrator replica limits its own share. */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>()

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Records a hit; returns the seconds to wait if the key is over its limit (and records nothing). */
  take(key: string, now = Date.now()): number {
    const wait = this.wait(key, now)
    if (wait === 0) this.record(key, now)
    return wait
  }

  /**
   * Takes a hit now and hands back a release for when the attempt turns out fine. Concurrent
   * attempts (a batch of 200 sign-ins) each hold their hit while they run, so none of them can
   * pass the limit by being checked before the others' failures were recorded.
   */
  reserve(key: string, now = Date.now()): { wait: number; release: () => void } {
    const wait = this.take(key, now)
    if (wait > 0) return { wait, release: () => {} }
    let released = false
    return {
      wait: 0,
      release: () => {
        if (released) return
        released = true
        const recent = this.hits.get(key)
        const index = recent?.indexOf(now) ?? -1
        if (recent && index >= 0) recent.splice(index, 1)
      },
    }
  }

  /** Seconds until `key` may try again (0: now), without counting this as a hit. */
  wait(key: string, now = Date.now()): number {
    const recent = (this.hits.get(key) ?? []).filter((t) => now - t < this.windowMs)
    if (recent.length === 0) this.hits.delete(key)
    else this.hits.set(key, recent)
    return recent.length >= this.limit ? Math.max(1, Math.ceil((recent[0]! + this.windowMs - now) / 1000)) : 0
  }

  record(key: string, now = Date.now()): void {
    this.hits.set(key, [...(this.hits.get(key) ?? []), now])
    // Keys of addresses and emails are unbounded: sweep expired ones once the map grows.
    if (this.hits.size > 10_000) for (const k of [...this.hits.keys()]) this.wait(k, now)
  }
}
