/** A sliding-window limit per key (per user), kept in memory: each orchestrator replica limits its own share. */
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

  /** Seconds until `key` may try again (0: now), without counting this as a hit. */
  wait(key: string, now = Date.now()): number {
    const recent = (this.hits.get(key) ?? []).filter((t) => now - t < this.windowMs)
    this.hits.set(key, recent)
    return recent.length >= this.limit ? Math.ceil((recent[0]! + this.windowMs - now) / 1000) : 0
  }

  record(key: string, now = Date.now()): void {
    this.hits.set(key, [...(this.hits.get(key) ?? []), now])
  }
}
