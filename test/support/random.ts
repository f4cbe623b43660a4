// A small seeded random number generator for tests that replay the same "random" edits on
// every run.

/** `pick(n)`: a whole number in [0, n), from a fixed sequence for `seed`. */
export function prng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}
