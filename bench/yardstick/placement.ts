/**
 * The in-memory yardstick's placement record (bench only: the yardstick is not Tessera's wire).
 * 6 bytes, little-endian:
 *
 *   bytes 0-1  x      u16, tiles from the left
 *   bytes 2-3  y      u16, tiles from the top
 *   byte  4    color  u8, palette index
 *   byte  5    spare  u8, 0 (a flag byte the server neither reads nor checks)
 *
 * A client message carries one record; a broadcast frame is the records of one timer tick
 * concatenated in arrival order, so its length / 6 is how many placements it carries.
 */

/** Bytes of one placement record, in client messages and in broadcast frames. */
export const YARDSTICK_RECORD_BYTES = 6

/** One record for (x, y, color). */
export const encodeYardstickRecord = (x: number, y: number, color: number): Buffer => {
  const b = Buffer.alloc(YARDSTICK_RECORD_BYTES)
  b.writeUInt16LE(x, 0)
  b.writeUInt16LE(y, 2)
  b[4] = color
  return b
}

/** The record at byte `offset` of `buf` (offset + 6 <= buf.length). */
export const readYardstickRecord = (buf: Uint8Array, offset: number): { x: number; y: number; color: number } => ({
  x: (buf[offset] as number) | ((buf[offset + 1] as number) << 8),
  y: (buf[offset + 2] as number) | ((buf[offset + 3] as number) << 8),
  color: buf[offset + 4] as number,
})
