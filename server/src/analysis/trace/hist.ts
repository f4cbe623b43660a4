// A small log-scale histogram of durations (nanoseconds): 8 buckets per power of two (about 9%
// wide), fixed size whatever it is fed, so per-site wait and hold distributions stay bounded.

const SUB = 8;
const BUCKETS = 64 * SUB;

export class DurationHistogram {
  private counts = new Map<number, number>();
  total = 0;
  max = 0;

  /** Adds `count` samples of `ns` each. */
  add(ns: number, count = 1): void {
    if (!(count > 0) || !Number.isFinite(ns) || ns < 0) return;
    const b = bucketOf(ns);
    this.counts.set(b, (this.counts.get(b) ?? 0) + count);
    this.total += count;
    if (ns > this.max) this.max = ns;
  }

  /** The q-quantile (0..1) in ns, at bucket resolution, never above the largest sample; 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    const keys = [...this.counts.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const k of keys) {
      seen += this.counts.get(k)!;
      if (seen >= rank) return Math.min(this.max, bucketMid(k));
    }
    return this.max;
  }
}

function bucketOf(ns: number): number {
  if (ns < 1) return 0;
  const b = Math.floor(Math.log2(ns) * SUB) + 1;
  return Math.min(BUCKETS - 1, Math.max(0, b));
}

function bucketMid(b: number): number {
  if (b <= 0) return 0;
  // bucket b covers [2^((b-1)/SUB), 2^(b/SUB)); report its geometric middle
  return Math.round(2 ** ((b - 0.5) / SUB));
}
