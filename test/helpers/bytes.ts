/**
 * Byte-for-byte equality of two bitmaps. (vitest's toEqual on million-element typed arrays is
 * slow and prints unreadable diffs; compare here and report the first difference instead.)
 */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0

/** Index of the first differing byte, or -1. */
export const firstDifference = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return a.length === b.length ? -1 : n
}
