/**
 * Values stored in the board document, chosen so that a reader holding only a snapshot and a
 * forward diff can paint every value without knowing which Y.Map it sits in (an overwrite item
 * names only its origin, not its map or key: docs/PROTOCOL.md, "Decoding sync answers").
 *
 * - A tile value is one integer: (y * MAX_BOARD_SIDE + x) * 32 + color. It is below 2^31, so
 *   Yjs writes it as a varint (at most 5 bytes), and it names its own tile and color.
 * - A shard base is a Uint8Array that names its own shard: a 4-byte header
 *   [BASE_MAGIC, BASE_VERSION, log2(shardSize), 0], then varuint sx, varuint sy, then
 *   shardSize * shardSize color bytes, row-major. Tiles outside the board are 0.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { MAX_BOARD_SIDE } from './board.ts'
import { MAX_PALETTE_SIZE } from './palette.ts'

/** The color occupies the low 5 bits of a tile value. */
const COLOR_SPAN = MAX_PALETTE_SIZE

/** Packs a placement into one document value. x, y < MAX_BOARD_SIDE; color < 32. */
export const encodeTileValue = (x: number, y: number, color: number): number => (y * MAX_BOARD_SIDE + x) * COLOR_SPAN + color

/** Unpacks a document tile value. */
export const decodeTileValue = (value: number): { x: number; y: number; color: number } => {
  const color = value % COLOR_SPAN
  const cell = (value - color) / COLOR_SPAN
  return { x: cell % MAX_BOARD_SIDE, y: Math.floor(cell / MAX_BOARD_SIDE), color }
}

/** Whether a document value is a tile value (as opposed to a base or config). */
export const isTileValue = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < MAX_BOARD_SIDE * MAX_BOARD_SIDE * COLOR_SPAN

/** First byte of every shard base ("T"). */
export const BASE_MAGIC = 0x54
/** Version of the shard base layout. */
export const BASE_VERSION = 1

/** A decoded shard base: the shard's coordinates, side, and its colors (row-major). */
export type ShardBase = { sx: number; sy: number; shardSize: number; colors: Uint8Array }

/** Encodes a shard base. `colors` has shardSize * shardSize bytes. */
export const encodeShardBase = (base: ShardBase): Uint8Array => {
  const { sx, sy, shardSize, colors } = base
  if (colors.length !== shardSize * shardSize) throw new Error('shard base: wrong number of colors')
  const enc = encoding.createEncoder()
  encoding.writeUint8(enc, BASE_MAGIC)
  encoding.writeUint8(enc, BASE_VERSION)
  encoding.writeUint8(enc, Math.log2(shardSize))
  encoding.writeUint8(enc, 0)
  encoding.writeVarUint(enc, sx)
  encoding.writeVarUint(enc, sy)
  encoding.writeUint8Array(enc, colors)
  return encoding.toUint8Array(enc)
}

/** Decodes a shard base, or returns null if the bytes are not one (wrong magic, version or length). */
export const decodeShardBase = (bytes: Uint8Array): ShardBase | null => {
  if (bytes.length < 6 || bytes[0] !== BASE_MAGIC || bytes[1] !== BASE_VERSION || bytes[3] !== 0) return null
  const log2 = bytes[2] as number
  if (log2 > 12) return null
  const shardSize = 1 << log2
  const dec = decoding.createDecoder(bytes)
  dec.pos = 4
  try {
    const sx = decoding.readVarUint(dec)
    const sy = decoding.readVarUint(dec)
    if (bytes.length - dec.pos !== shardSize * shardSize) return null
    return { sx, sy, shardSize, colors: bytes.subarray(dec.pos) }
  } catch {
    return null
  }
}

/**
 * Copies a shard base's colors into a row-major board bitmap of the given width and height,
 * clipping tiles outside it.
 */
export const paintShardBase = (bitmap: Uint8Array, width: number, height: number, base: ShardBase): void => {
  const { sx, sy, shardSize, colors } = base
  const x0 = sx * shardSize
  const y0 = sy * shardSize
  if (x0 >= width || y0 >= height) return
  const w = Math.min(shardSize, width - x0)
  const h = Math.min(shardSize, height - y0)
  for (let ly = 0; ly < h; ly++) {
    const from = ly * shardSize
    bitmap.set(colors.subarray(from, from + w), (y0 + ly) * width + x0)
  }
}

/** Reads a shard's colors out of a row-major board bitmap (tiles outside the board are 0). */
export const extractShardColors = (
  bitmap: Uint8Array,
  width: number,
  height: number,
  shardSize: number,
  sx: number,
  sy: number,
): Uint8Array => {
  const colors = new Uint8Array(shardSize * shardSize)
  const x0 = sx * shardSize
  const y0 = sy * shardSize
  const w = Math.max(0, Math.min(shardSize, width - x0))
  const h = Math.max(0, Math.min(shardSize, height - y0))
  for (let ly = 0; ly < h; ly++) {
    const from = (y0 + ly) * width + x0
    colors.set(bitmap.subarray(from, from + w), ly * shardSize)
  }
  return colors
}
