/** mulberry32: a small seeded generator (floats in [0, 1)) so that a failing test reproduces. */
export const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Integers in [0, n) from a seeded generator. */
export const randomInts = (seed: number) => {
  const next = prng(seed)
  return (n: number) => Math.floor(next() * n)
}
