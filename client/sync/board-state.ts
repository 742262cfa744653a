/**
 * The board as the browser holds it: the board config and a row-major bitmap of colour indices,
 * kept equal to the synced Y.Doc by painting only what each transaction changed.
 *
 * Read-only on the document: this file observes it and never writes it (the relay is its only
 * writer; a client that sends document content is disconnected with 4403).
 *
 * What each kind of change repaints (see shared/doc-schema.ts for the schema):
 *   root 'config' changed      -> new config; a new bitmap if the board grew; full repaint
 *   root 'epoch' replaced      -> full repaint (a new epoch holds a fresh base for every shard)
 *   epoch key changed          -> that shard (it was created or compacted into a new base)
 *   shard 'b' (base) changed   -> that shard
 *   shard tile key set         -> that one tile (tile values name their own x, y and colour)
 */
import * as Y from 'yjs'
import type { BoardConfig } from '../../shared/board.ts'
import { parseShardKey } from '../../shared/board.ts'
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
  /** Called after every document transaction that changed the board; returns an unsubscribe. */
  onChange: (listener: (damage: Damage, configChanged: boolean) => void) => () => void
  destroy: () => void
}

/**
 * Keeps a bitmap in step with `doc`. `initial` (from GET /api/boards/<id>) shapes the bitmap
 * until the document's own config arrives with the first sync.
 */
export const createBoardState = (doc: Y.Doc, initial: BoardConfig): BoardState => {
  const root = rootOf(doc)
  let config: BoardConfig = fromDoc(doc) ?? initial
  let bitmap = readBoardBitmap(doc, config.width, config.height)
  const listeners = new Set<(damage: Damage, configChanged: boolean) => void>()

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
    let full = false
    let configChanged = false
    const rects: Rect[] = []
    const shardsDone = new Set<string>()
    for (const event of events) {
      if (!(event instanceof Y.YMapEvent)) continue
      const path = event.path
      const keys = event.keysChanged as Set<string>
      if (path.length === 0) {
        if (keys.has(RootKey.Config)) configChanged = true
        if (keys.has(RootKey.Epoch)) full = true
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
    if (configChanged) {
      const next = fromDoc(doc)
      if (next) {
        const grew = next.width !== config.width || next.height !== config.height
        config = next
        if (grew) full = true
      }
    }
    if (full) bitmap = readBoardBitmap(doc, config.width, config.height)
    if (!full && !configChanged && rects.length === 0) return
    const damage: Damage = full ? { full: true } : { full: false, rects }
    for (const l of listeners) l(damage, configChanged)
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
    destroy: () => {
      root.unobserveDeep(observer)
      listeners.clear()
    },
  }
}

/** The document's config as a BoardConfig (without its version counter), or null before sync. */
const fromDoc = (doc: Y.Doc): BoardConfig | null => {
  const c = readDocConfig(doc)
  if (!c) return null
  return {
    id: c.id,
    width: c.width,
    height: c.height,
    palette: [...c.palette],
    shardSize: c.shardSize,
    cooldownMs: c.cooldownMs,
    locked: c.locked,
  }
}
