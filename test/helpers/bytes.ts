/**
 * Byte-for-byte equality of two bitmaps. (vitest's toEqual on million-element typed arrays is
 * slow and prints unreadable diffs; compare the bytes here instead.)
 */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0
