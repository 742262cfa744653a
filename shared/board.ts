/**
 * The board model: a board's configuration and the geometry of its tiles and region shards.
 * Pure: no I/O, no Yjs.
 */
import { PLACE_2017_PALETTE, parsePalette } from './palette.ts'

/** Everything that defines one board. Sizes are in tiles, times in milliseconds. */
export type BoardConfig = {
  /** URL-safe name, 1..64 of [a-z0-9_-]. */
  id: string
  /** Tiles across, 1..MAX_BOARD_SIDE. */
  width: number
  /** Tiles down, 1..MAX_BOARD_SIDE. */
  height: number
  /** "#rrggbb" colors; index 0 is the color of a tile never placed. */
  palette: string[]
  /** Side of a square region shard in tiles (a power of two, 16..256). */
  shardSize: number
  /** Milliseconds one identity must wait between two placements on this board. */
  cooldownMs: number
  /** When true, only admins may place (a frozen or finished board). */
  locked: boolean
}

/**
 * Largest width or height. Tile values pack y * MAX_BOARD_SIDE + x into 26 bits next to a 5-bit
 * color, so every value stays below 2^31 and Yjs encodes it as a varint (see tile-codec.ts).
 */
export const MAX_BOARD_SIDE = 8192

/** Board ids: what may appear in /ws/<id> and /api/boards/<id>. */
export const BOARD_ID_PATTERN = /^[a-z0-9_-]{1,64}$/

/** r/place 2017: 1000x1000, its 16 colors, a 5-minute cooldown. */
export const DEFAULT_BOARD: BoardConfig = {
  id: 'main',
  width: 1000,
  height: 1000,
  palette: [...PLACE_2017_PALETTE],
  shardSize: 64,
  cooldownMs: 5 * 60 * 1000,
  locked: false,
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v)

/**
 * Builds a board config from a partial description (missing fields take DEFAULT_BOARD's values)
 * and checks it. Returns the config or a message naming the first bad field.
 */
export const parseBoardConfig = (input: unknown): { ok: true; board: BoardConfig } | { ok: false; error: string } => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, error: 'a board must be a JSON object' }
  }
  const raw = input as Record<string, unknown>
  const board = { ...DEFAULT_BOARD, ...raw } as Record<string, unknown>
  if (typeof board.id !== 'string' || !BOARD_ID_PATTERN.test(board.id)) {
    return { ok: false, error: 'id must be 1..64 characters of a-z, 0-9, _ and -' }
  }
  for (const side of ['width', 'height'] as const) {
    const v = board[side]
    if (!isInt(v) || v < 1 || v > MAX_BOARD_SIDE) {
      return { ok: false, error: `${side} must be an integer in 1..${MAX_BOARD_SIDE}` }
    }
  }
  const palette = parsePalette(board.palette)
  if (!palette.ok) return palette
  const s = board.shardSize
  if (!isInt(s) || s < 16 || s > 256 || (s & (s - 1)) !== 0) {
    return { ok: false, error: 'shardSize must be a power of two in 16..256' }
  }
  if (!isInt(board.cooldownMs) || board.cooldownMs < 0 || board.cooldownMs > 7 * 24 * 3600 * 1000) {
    return { ok: false, error: 'cooldownMs must be an integer in 0..604800000 (a week)' }
  }
  if (typeof board.locked !== 'boolean') return { ok: false, error: 'locked must be true or false' }
  const known = new Set(Object.keys(DEFAULT_BOARD))
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) return { ok: false, error: `unknown board field ${JSON.stringify(key)}` }
  }
  return {
    ok: true,
    board: {
      id: board.id,
      width: board.width as number,
      height: board.height as number,
      palette: palette.palette,
      shardSize: s,
      cooldownMs: board.cooldownMs,
      locked: board.locked,
    },
  }
}

/** Whether (x, y) are integer tile coordinates inside the board. */
export const isInsideBoard = (board: Pick<BoardConfig, 'width' | 'height'>, x: unknown, y: unknown): boolean =>
  isInt(x) && isInt(y) && x >= 0 && y >= 0 && x < board.width && y < board.height

/** Shard coordinates (column, row) of a tile. */
export const shardOf = (shardSize: number, x: number, y: number): { sx: number; sy: number } => ({
  sx: Math.floor(x / shardSize),
  sy: Math.floor(y / shardSize),
})

/** The key of shard (sx, sy) in the document: "sx,sy". Stable when the board grows. */
export const shardKey = (sx: number, sy: number): string => `${sx},${sy}`

/** Parses a shard key back into shard coordinates, or null if it is not one. */
export const parseShardKey = (key: string): { sx: number; sy: number } | null => {
  const m = /^(\d+),(\d+)$/.exec(key)
  return m ? { sx: Number(m[1]), sy: Number(m[2]) } : null
}

/**
 * Index of a tile inside its shard, row-major with stride shardSize (not the shard's visible
 * width, so that the index stays valid when the board grows).
 */
export const localIndex = (shardSize: number, x: number, y: number): number => (y % shardSize) * shardSize + (x % shardSize)

/** Public description of a board, as GET /api/boards/<id> returns it. */
export type BoardInfo = BoardConfig & {
  /** Maximum palette size the board may grow to. */
  maxPaletteSize: number
  /** People connected to the board's WebSocket right now. */
  online: number
  /** GET /api/boards/<id> only: the seq of the board's last committed tile write (0: none). */
  seq?: number
  /** GET /api/boards/<id> only: the latest snapshot, or null when the board has none. */
  snapshot?: SnapshotSummary | null
}

/**
 * The latest snapshot as GET /api/boards/<id> summarises it (the full metadata, with the state
 * vector, is GET /api/boards/<id>/snapshot). `seq`: the history seq the PNG holds (every tile
 * write up to it, none after), or null when the relay does not know it.
 */
export type SnapshotSummary = {
  version: number
  /** When it was taken, ms since the Unix epoch. */
  time: number
  width: number
  height: number
  /** The immutable PNG: /snapshots/<id>/<version>.png. */
  pngUrl: string
  pngBytes: number
  seq: number | null
}

/**
 * Checks that a board may change from `prev` to `next` without invalidating what was placed:
 * width and height may only grow, colours may only be appended, the shard size never changes.
 * Returns null if allowed, else the reason.
 */
export const checkBoardChange = (prev: BoardConfig, next: BoardConfig): string | null => {
  if (next.id !== prev.id) return 'a board cannot change its id'
  if (next.shardSize !== prev.shardSize) return `shardSize cannot change (was ${prev.shardSize})`
  if (next.width < prev.width || next.height < prev.height) {
    return `the board can only grow (was ${prev.width}x${prev.height})`
  }
  if (next.palette.length < prev.palette.length || prev.palette.some((c, i) => next.palette[i] !== c)) {
    return 'palette colours may be appended, never removed or reordered'
  }
  return null
}

/** Whether two board configs describe the same board in every field. */
export const sameBoard = (a: BoardConfig, b: BoardConfig): boolean =>
  a.id === b.id &&
  a.width === b.width &&
  a.height === b.height &&
  a.shardSize === b.shardSize &&
  a.cooldownMs === b.cooldownMs &&
  a.locked === b.locked &&
  a.palette.length === b.palette.length &&
  a.palette.every((c, i) => b.palette[i] === c)
