/**
 * The board as the browser holds it: the board config (with its version counter) and a row-major
 * bitmap of colour indices, one byte a tile. No Y.Doc: everything that paints it names its own
 * place (shared/tile-codec.ts), so a bitmap is enough (shared/update-reader.ts says why a forward
 * diff paints exactly).
 *
 * What paints it (client/sync/board-sync.ts decides which, in what order):
 * - a stored board (IndexedDB) or a snapshot PNG, as the start (load);
 * - a sync answer (a Yjs V1 update), painted by the document-free reader either onto the bitmap
 *   held (the answer to a sync step 1 with the state vector the bitmap stands at: a snapshot's) or
 *   onto a blank bitmap (the answer to the empty state vector: the whole board);
 * - Tiles frames (applyTiles: tile values in history order) and Config frames (applyConfig).
 */
import { type BoardConfig, DEFAULT_BOARD, parseBoardConfig, sameBoard } from '../../shared/board.ts'
import type { Rect } from '../../shared/placement.ts'
import { decodeTileValue, isTileValue } from '../../shared/tile-codec.ts'
import { type BoardUpdate, paintBoardUpdate, readBoardUpdate } from '../../shared/update-reader.ts'

/** What changed on the bitmap since the last report: everything, or some rectangles (tiles). */
export type Damage = { full: true } | { full: false; rects: Rect[] }

/** A board config and its change counter (DocConfig.version; 0 = unknown, older than any). */
export type VersionedConfig = { board: BoardConfig; version: number }

/** Where a sync answer is painted: onto the bitmap held, or onto a blank one. */
export type AnswerBase = 'current' | 'blank'

/** Above this many painted items a sync answer repaints everything rather than list rectangles. */
const MAX_DAMAGE_RECTS = 512

export type BoardState = {
  /** The board's current config. */
  config: () => BoardConfig
  /** Its version counter (DocConfig.version; 0 before any versioned config). */
  version: () => number
  /** Row-major colour indices, width * height. Replaced (not resized) when the board grows. */
  bitmap: () => Uint8Array
  /** Colour index of a tile, or undefined outside the board. */
  colorAt: (x: number, y: number) => number | undefined
  /** Called after every change of the board; returns an unsubscribe. */
  onChange: (listener: (damage: Damage, configChanged: boolean) => void) => () => void
  /**
   * Replaces the bitmap (a snapshot or a stored board) of `width` x `height`; a smaller one is
   * grown to the config's size (new tiles colour 0), a config of a larger board is taken first.
   */
  load: (bitmap: Uint8Array, width: number, height: number, config?: VersionedConfig) => void
  /**
   * Paints a sync answer (Yjs V1 update of the board document) onto `base`. Throws on bytes that
   * are not an update (the caller resyncs).
   */
  applySyncAnswer: (update: Uint8Array, base: AnswerBase) => void
  /**
   * Paints tile values values[from], values[from + 1], ... in order (a later value for the same
   * tile wins), as a Tiles frame carries them; values naming a tile outside the board are skipped.
   */
  applyTiles: (values: ArrayLike<number>, from?: number) => void
  /** Takes a Config frame's document config (JSON as received). False if it is not one (nothing changes). */
  applyConfig: (value: unknown) => boolean
}

/** `initial`: the config to shape the bitmap with (from GET /api/boards/<id>, or stored). */
export const createBoardState = (initial: VersionedConfig): BoardState => {
  let config = initial.board
  let version = initial.version
  let bitmap: Uint8Array = new Uint8Array(config.width * config.height)
  const listeners = new Set<(damage: Damage, configChanged: boolean) => void>()

  const notify = (damage: Damage, configChanged: boolean) => {
    for (const l of listeners) l(damage, configChanged)
  }

  /**
   * Takes a config. A version older than the one held is ignored: a socket gets the relay's
   * config when it connects, and a sync answer after it may have been read before that config
   * was committed. A board of another size gets a new bitmap holding the old one's tiles where
   * they were (boards only grow).
   */
  const takeConfig = (next: VersionedConfig): { changed: boolean; resized: boolean } => {
    if (next.version < version) return { changed: false, resized: false }
    const same = next.version === version && sameBoard(next.board, config)
    version = next.version
    if (same) return { changed: false, resized: false }
    const resized = next.board.width !== config.width || next.board.height !== config.height
    if (resized) bitmap = resize(bitmap, config.width, config.height, next.board.width, next.board.height)
    config = next.board
    return { changed: true, resized }
  }

  const paintTile = (value: unknown): Rect | null => {
    if (!isTileValue(value)) return null
    const { x, y, color } = decodeTileValue(value)
    if (x >= config.width || y >= config.height) return null
    bitmap[y * config.width + x] = color
    return { x, y, w: 1, h: 1 }
  }

  return {
    config: () => config,
    version: () => version,
    bitmap: () => bitmap,
    colorAt: (x, y) => (x >= 0 && y >= 0 && x < config.width && y < config.height ? bitmap[y * config.width + x] : undefined),
    onChange: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    load: (loaded, width, height, next) => {
      const configChanged = next ? takeConfig(next).changed : false
      bitmap = resize(loaded, width, height, config.width, config.height)
      notify({ full: true }, configChanged)
    },
    applySyncAnswer: (bytes, base) => {
      const update: BoardUpdate = readBoardUpdate(bytes)
      // The answer's config first, so that its tiles of a grown board find it grown.
      let configChanged = false
      let resized = false
      if (update.config) {
        const next = parseDocConfig(update.config)
        if (next) ({ changed: configChanged, resized } = takeConfig(next))
      }
      if (base === 'blank') bitmap = new Uint8Array(config.width * config.height)
      const board = paintBoardUpdate({ bitmap, width: config.width, height: config.height }, { ...update, config: null })
      bitmap = board.bitmap
      const full = base === 'blank' || resized || update.bases.length > 0 || update.tiles.length > MAX_DAMAGE_RECTS
      const rects: Rect[] = []
      if (!full) {
        for (const value of update.tiles) {
          const { x, y } = decodeTileValue(value)
          if (x < config.width && y < config.height) rects.push({ x, y, w: 1, h: 1 })
        }
      }
      notify(full ? { full: true } : { full: false, rects }, configChanged)
    },
    applyTiles: (values, from = 0) => {
      const rects: Rect[] = []
      for (let i = from; i < values.length; i++) {
        const r = paintTile(values[i])
        if (r) rects.push(r)
      }
      if (rects.length > 0) notify({ full: false, rects }, false)
    },
    applyConfig: (value) => {
      const next = parseDocConfig(value)
      if (!next) return false
      const { changed, resized } = takeConfig(next)
      if (changed) notify(resized ? { full: true } : { full: false, rects: [] }, true)
      return true
    },
  }
}

/**
 * A document config (a Config frame's JSON, or the one a sync answer carries) as a versioned
 * board config, or null if it is not one. Every board field must be there (parseBoardConfig would
 * quietly fill a missing one with its default).
 */
export const parseDocConfig = (value: unknown): VersionedConfig | null => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
  const { version, ...fields } = value as Record<string, unknown>
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) return null
  if (!Object.keys(DEFAULT_BOARD).every((k) => k in fields)) return null
  const parsed = parseBoardConfig(fields)
  return parsed.ok ? { board: parsed.board, version } : null
}

/** Copies a bitmap into one of another size, each tile where it was. */
const resize = (old: Uint8Array, w0: number, h0: number, w1: number, h1: number): Uint8Array => {
  if (w0 === w1 && h0 === h1) return old
  const next = new Uint8Array(w1 * h1)
  for (let y = 0; y < Math.min(h0, h1); y++) next.set(old.subarray(y * w0, y * w0 + Math.min(w0, w1)), y * w1)
  return next
}

/** The board config in a GET /api/boards/<id> answer (which also carries online counts and limits). */
export const boardConfigOf = (info: BoardConfig): BoardConfig => ({
  id: info.id,
  width: info.width,
  height: info.height,
  palette: info.palette,
  shardSize: info.shardSize,
  cooldownMs: info.cooldownMs,
  locked: info.locked,
})
