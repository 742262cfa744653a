/**
 * The board as the browser holds it: the board config and a row-major bitmap of colour indices.
 * Two sources paint it (the socket is live=tiles, client/sync/connection.ts):
 *
 * - the Y.Doc, which only sync answers advance (on the first connect, every reconnect, and a
 *   resync after a gap): each of its transactions repaints only what it changed;
 * - between syncs, Tiles frames (applyTiles: tile values in history order) and Config frames
 *   (applyConfig). The doc does not see these, so between syncs it is stale and the bitmap is
 *   the truth: nothing here reads the whole board from the doc except a sync answer's new epoch
 *   (then the doc was just brought up to date, and is at least as new as any frame before it).
 *
 * Read-only on the document: this file observes it and never writes it (the relay is its only
 * writer; a client that sends document content is disconnected with 4403).
 *
 * What each kind of doc change repaints (see shared/doc-schema.ts for the schema):
 *   root 'config' changed      -> new config, taken first (tiles of a grown board find it
 *                                 grown); a grown board gets a larger bitmap keeping its tiles
 *   root 'epoch' replaced      -> full repaint (a new epoch holds a fresh base for every shard)
 *   epoch key changed          -> that shard (it was created or compacted into a new base)
 *   shard '_' (base) changed   -> that shard
 *   shard tile key set         -> that one tile (tile values name their own x, y and colour)
 */
import * as Y from 'yjs'
import { type BoardConfig, DEFAULT_BOARD, parseBoardConfig, parseShardKey, sameBoard } from '../../shared/board.ts'
import { BASE_KEY, RootKey, readBoardBitmap, readDocConfig, rootOf } from '../../shared/doc-schema.ts'
import type { Rect } from '../../shared/placement.ts'
import { decodeShardBase, decodeTileValue, isTileValue, paintShardBase } from '../../shared/tile-codec.ts'

/** What changed on the bitmap since the last report: everything, or some rectangles (tiles). */
export type Damage = { full: true } | { full: false; rects: Rect[] }

export type BoardState = {
  /** The board's current config (from the document once synced, else the one given). */
  config: () => BoardConfig
  /** Row-major colour indices, width * height. Replaced (not resized) when the board grows. */
  bitmap: () => Uint8Array
  /** Colour index of a tile, or undefined outside the board. */
  colorAt: (x: number, y: number) => number | undefined
  /**
   * Called after every change of the board (a document transaction, applyTiles, applyConfig);
   * returns an unsubscribe.
   */
  onChange: (listener: (damage: Damage, configChanged: boolean) => void) => () => void
  /**
   * Paints tile values (shared/tile-codec.ts) values[from], values[from + 1], ... in order (a
   * later value for the same tile wins), as a Tiles frame carries them; values naming a tile
   * outside the board are skipped.
   */
  applyTiles: (values: ArrayLike<number>, from?: number) => void
  /**
   * Takes a Config frame's document config (JSON as received): the same path as a config change
   * in the document. Returns false if it is not a document config (then nothing changes).
   */
  applyConfig: (value: unknown) => boolean
  destroy: () => void
}

/**
 * Keeps a bitmap in step with `doc`. `initial` (from GET /api/boards/<id>) shapes the bitmap
 * until the document's own config arrives with the first sync.
 */
export const createBoardState = (doc: Y.Doc, initial: BoardConfig): BoardState => {
  const root = rootOf(doc)
  const synced = fromDoc(doc)
  let config: BoardConfig = synced?.board ?? initial
  // The version of `config` (DocConfig.version; 0 for `initial`, which has none).
  let version = synced?.version ?? 0
  let bitmap = readBoardBitmap(doc, config.width, config.height)
  const listeners = new Set<(damage: Damage, configChanged: boolean) => void>()

  const notify = (damage: Damage, configChanged: boolean) => {
    for (const l of listeners) l(damage, configChanged)
  }

  /**
   * Takes a document config, from the doc or from a Config frame (one path for both). A version
   * older than the one held is ignored: a socket gets the relay's config when it connects, and
   * the sync answer after it may have been read before that config was committed to the doc.
   * A board of another size gets a new bitmap holding the old one's tiles where they were: the
   * bitmap is the truth between syncs, so it cannot be read again from the (stale) doc.
   */
  const takeConfig = (next: DocBoard): { changed: boolean; resized: boolean } => {
    if (next.version < version) return { changed: false, resized: false }
    // The same version again (each connect's Config frame, a sync answer after a Config frame)
    // changes nothing, and repaints nothing.
    const same = next.version === version && sameBoard(next.board, config)
    version = next.version
    if (same) return { changed: false, resized: false }
    const resized = next.board.width !== config.width || next.board.height !== config.height
    if (resized) bitmap = resize(bitmap, config.width, config.height, next.board.width, next.board.height)
    config = next.board
    return { changed: true, resized }
  }

  /** Repaints one shard from its map: clears it, paints its base, then its tile overrides. */
  const paintShard = (key: string, shard: unknown): Rect | null => {
    const at = parseShardKey(key)
    if (!at) return null
    const { width, height, shardSize } = config
    const x0 = at.sx * shardSize
    const y0 = at.sy * shardSize
    if (x0 >= width || y0 >= height) return null
    const w = Math.min(shardSize, width - x0)
    const h = Math.min(shardSize, height - y0)
    // A shard without a base is all colour 0 under its overrides (doc-schema.ts).
    for (let y = y0; y < y0 + h; y++) bitmap.fill(0, y * width + x0, y * width + x0 + w)
    if (shard instanceof Y.Map) {
      const base = shard.get(BASE_KEY)
      if (base instanceof Uint8Array) {
        const decoded = decodeShardBase(base)
        if (decoded) paintShardBase(bitmap, width, height, decoded)
      }
      for (const [k, value] of shard.entries()) {
        if (k !== BASE_KEY) paintTile(value)
      }
    }
    return { x: x0, y: y0, w, h }
  }

  const paintTile = (value: unknown): Rect | null => {
    if (!isTileValue(value)) return null
    const { x, y, color } = decodeTileValue(value)
    if (x >= config.width || y >= config.height) return null
    bitmap[y * config.width + x] = color
    return { x, y, w: 1, h: 1 }
  }

  const observer = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>) => {
    // The config first, so that this transaction's tiles of a grown board find it grown.
    let configChanged = false
    let resized = false
    if (events.some((e) => e.target === root && (e as Y.YMapEvent<unknown>).keysChanged.has(RootKey.Config))) {
      const next = fromDoc(doc)
      if (next) ({ changed: configChanged, resized } = takeConfig(next))
    }
    // A new epoch: read the whole board from the doc, which this sync answer just brought up to date.
    let reread = false
    const rects: Rect[] = []
    const shardsDone = new Set<string>()
    for (const event of events) {
      if (!(event instanceof Y.YMapEvent)) continue
      const path = event.path
      const keys = event.keysChanged as Set<string>
      if (path.length === 0) {
        if (keys.has(RootKey.Epoch)) reread = true
      } else if (path.length === 1 && path[0] === RootKey.Epoch) {
        for (const key of keys) {
          shardsDone.add(key)
          const r = paintShard(key, (event.target as Y.Map<unknown>).get(key))
          if (r) rects.push(r)
        }
      } else if (path.length === 2 && path[0] === RootKey.Epoch) {
        const shardKey = String(path[1])
        if (shardsDone.has(shardKey)) continue
        const shard = event.target as Y.Map<unknown>
        if (keys.has(BASE_KEY) || [...keys].some((k) => !shard.has(k))) {
          // A new base, or a removed override: the shard's tiles must be recomputed as a whole.
          shardsDone.add(shardKey)
          const r = paintShard(shardKey, shard)
          if (r) rects.push(r)
          continue
        }
        for (const key of keys) {
          const r = paintTile(shard.get(key))
          if (r) rects.push(r)
        }
      }
    }
    if (reread) bitmap = readBoardBitmap(doc, config.width, config.height)
    const full = reread || resized
    if (!full && !configChanged && rects.length === 0) return
    notify(full ? { full: true } : { full: false, rects }, configChanged)
  }
  root.observeDeep(observer)

  return {
    config: () => config,
    bitmap: () => bitmap,
    colorAt: (x, y) => (x >= 0 && y >= 0 && x < config.width && y < config.height ? bitmap[y * config.width + x] : undefined),
    onChange: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
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
    destroy: () => {
      root.unobserveDeep(observer)
      listeners.clear()
    },
  }
}

/** A document config split into the board config and its version counter. */
type DocBoard = { board: BoardConfig; version: number }

/** The document's config, or null before sync. */
const fromDoc = (doc: Y.Doc): DocBoard | null => {
  const c = readDocConfig(doc)
  if (!c) return null
  return {
    board: {
      id: c.id,
      width: c.width,
      height: c.height,
      palette: [...c.palette],
      shardSize: c.shardSize,
      cooldownMs: c.cooldownMs,
      locked: c.locked,
    },
    // A document written before configs were versioned counts as the oldest.
    version: typeof c.version === 'number' ? c.version : 0,
  }
}

/**
 * A Config frame's JSON as a document config, or null if it is not one. Every board field must be
 * there (parseBoardConfig would quietly fill a missing one with its default).
 */
const parseDocConfig = (value: unknown): DocBoard | null => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
  const { version, ...fields } = value as Record<string, unknown>
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) return null
  if (!Object.keys(DEFAULT_BOARD).every((k) => k in fields)) return null
  const parsed = parseBoardConfig(fields)
  return parsed.ok ? { board: parsed.board, version } : null
}

/** Copies a bitmap into one of another size, each tile where it was (the board grew). */
const resize = (old: Uint8Array, w0: number, h0: number, w1: number, h1: number): Uint8Array => {
  const next = new Uint8Array(w1 * h1)
  for (let y = 0; y < Math.min(h0, h1); y++) next.set(old.subarray(y * w0, y * w0 + Math.min(w0, w1)), y * w1)
  return next
}
