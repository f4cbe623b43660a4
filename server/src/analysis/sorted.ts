// Binary search over arrays kept in order.

/** Index of the first element of `sorted` for which `isAtOrAfter` holds (it must hold for every later one); `sorted.length` when none does. */
export function firstWhere<T>(sorted: readonly T[], isAtOrAfter: (x: T) => boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (isAtOrAfter(sorted[mid])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
