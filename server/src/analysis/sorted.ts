// Ordering: binary search over sorted arrays, and the one string order outputs use.

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

/**
 * Orders strings by their UTF-16 code units. Outputs (files, findings, lock classes) use this
 * rather than `localeCompare`, whose order follows the machine's locale: the same input then
 * prints the same on every machine, and no collator has to be loaded.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
