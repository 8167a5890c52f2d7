/** A sliding-window limit per key (per user), kept in memory: each orchestrator replica limits its own share. */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>()

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Records a hit; returns the seconds to wait if the key is over its limit (and records nothing). */
  take(key: string, now = Date.now()): number {
    const recent = (this.hits.get(key) ?? []).filter((t) => now - t < this.windowMs)
    if (recent.length >= this.limit) {
      this.hits.set(key, recent)
      return Math.ceil((recent[0]! + this.windowMs - now) / 1000)
    }
    recent.push(now)
    this.hits.set(key, recent)
    return 0
  }
}
