/**
 * The board document's schema: the only file in shared/ that names Yjs types.
 *
 *   doc.getMap('tessera')                 root map
 *     'config' -> DocConfig                 plain object, the live board descriptor
 *     'epoch'  -> Y.Map                     the current epoch: one entry per shard ever written
 *        'sx,sy' -> Y.Map                   one shard (region of shardSize x shardSize tiles)
 *           '_'       -> Uint8Array         optional base (tile-codec.ts), absent = all color 0
 *           '<local>' -> number             tile value (tile-codec.ts) placed since the base;
 *                                           key = localIndex in base 36
 *
 * Growth bound: every overwrite of a tile key leaves a tombstone. The relay (the only writer)
 * compacts a shard by replacing its Y.Map with a fresh one whose base holds the shard's live
 * colors: the old map and all its tombstones become garbage that Yjs merges away. Each such
 * replacement leaves one tombstone in the epoch map, so after enough of them the relay starts
 * a new epoch (replaces the epoch map, with a fresh map for every shard it had). Memory and
 * document size are thus bounded by the board, not by its history.
 */
import * as Y from 'yjs'
import { type BoardConfig, localIndex, parseShardKey, shardKey, shardOf } from './board.ts'
import { decodeShardBase, decodeTileValue, encodeShardBase, encodeTileValue, isTileValue, paintShardBase } from './tile-codec.ts'

/** Name of the root map. */
export const ROOT_MAP_NAME = 'tessera'
/** Keys of the root map. */
export const RootKey = { Config: 'config', Epoch: 'epoch' } as const
/** Key of a shard map's base: '_' is not a base-36 digit, so no tile key can collide with it. */
export const BASE_KEY = '_'

/** The board descriptor stored in the document: the board config plus a change counter. */
export type DocConfig = BoardConfig & {
  /** Incremented on every change of the descriptor (starts at 1). */
  version: number
}

type ShardMap = Y.Map<Uint8Array | number>
type EpochMap = Y.Map<ShardMap>

/** The root map of a board document. */
export const rootOf = (doc: Y.Doc): Y.Map<unknown> => doc.getMap(ROOT_MAP_NAME)

/** The board descriptor in the document, or null if none was written yet. */
export const readDocConfig = (doc: Y.Doc): DocConfig | null => {
  const value = rootOf(doc).get(RootKey.Config)
  return value && typeof value === 'object' ? (value as DocConfig) : null
}

/** Writes the board descriptor. Call inside a transaction of the only writer. */
export const writeDocConfig = (doc: Y.Doc, config: DocConfig): void => {
  rootOf(doc).set(RootKey.Config, { ...config, palette: [...config.palette] })
}

const epochOf = (doc: Y.Doc): EpochMap | null => {
  const epoch = rootOf(doc).get(RootKey.Epoch)
  return epoch instanceof Y.Map ? (epoch as EpochMap) : null
}

const ensureEpoch = (doc: Y.Doc): EpochMap => {
  const existing = epochOf(doc)
  if (existing) return existing
  const epoch: EpochMap = new Y.Map()
  rootOf(doc).set(RootKey.Epoch, epoch)
  return epoch
}

/** Keys of the shards the current epoch holds. */
export const shardKeysOf = (doc: Y.Doc): string[] => {
  const epoch = epochOf(doc)
  return epoch ? [...epoch.keys()] : []
}

/** Number of tile keys (live overrides) a shard map holds, not counting its base. */
export const overrideCountOf = (doc: Y.Doc, key: string): number => {
  const shard = epochOf(doc)?.get(key)
  if (!shard) return 0
  return shard.has(BASE_KEY) ? shard.size - 1 : shard.size
}

/**
 * Writes one tile. Creates the shard map on its first write. Call inside a transaction of the
 * only writer. x, y must be inside the board; color inside the palette. Returns the shard key.
 */
export const writeTile = (doc: Y.Doc, shardSize: number, x: number, y: number, color: number): string => {
  const epoch = ensureEpoch(doc)
  const { sx, sy } = shardOf(shardSize, x, y)
  const key = shardKey(sx, sy)
  let shard = epoch.get(key)
  if (!shard) {
    shard = new Y.Map()
    epoch.set(key, shard)
  }
  shard.set(localIndex(shardSize, x, y).toString(36), encodeTileValue(x, y, color))
  return key
}

/**
 * Replaces shard (sx, sy) with a fresh map holding only a base of the given colors (row-major,
 * shardSize * shardSize bytes). The old map's tombstones become mergeable garbage.
 */
export const replaceShard = (doc: Y.Doc, shardSize: number, sx: number, sy: number, colors: Uint8Array): void => {
  const shard: ShardMap = new Y.Map()
  shard.set(BASE_KEY, encodeShardBase({ sx, sy, shardSize, colors }))
  ensureEpoch(doc).set(shardKey(sx, sy), shard)
}

/**
 * Starts a new epoch holding a fresh base for each given shard. Every shard key of the old epoch
 * must be among them, so that a reader of a forward diff repaints every shard it may hold.
 */
export const replaceEpoch = (doc: Y.Doc, shardSize: number, shards: Iterable<{ sx: number; sy: number; colors: Uint8Array }>): void => {
  const epoch: EpochMap = new Y.Map()
  for (const { sx, sy, colors } of shards) {
    const shard: ShardMap = new Y.Map()
    shard.set(BASE_KEY, encodeShardBase({ sx, sy, shardSize, colors }))
    epoch.set(shardKey(sx, sy), shard)
  }
  rootOf(doc).set(RootKey.Epoch, epoch)
}

/**
 * Paints the document's board into a fresh row-major bitmap of width * height color indices.
 * Values outside the bitmap are skipped.
 */
export const readBoardBitmap = (doc: Y.Doc, width: number, height: number): Uint8Array => {
  const bitmap = new Uint8Array(width * height)
  const epoch = epochOf(doc)
  if (!epoch) return bitmap
  for (const [key, shard] of epoch.entries()) {
    if (!parseShardKey(key)) continue
    const baseBytes = shard.get(BASE_KEY)
    if (baseBytes instanceof Uint8Array) {
      const base = decodeShardBase(baseBytes)
      if (base) paintShardBase(bitmap, width, height, base)
    }
    for (const [k, value] of shard.entries()) {
      if (k === BASE_KEY || !isTileValue(value)) continue
      const { x, y, color } = decodeTileValue(value)
      if (x < width && y < height) bitmap[y * width + x] = color
    }
  }
  return bitmap
}
