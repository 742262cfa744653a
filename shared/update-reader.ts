/**
 * Paints a Yjs V1 update straight into a board bitmap, without a Y.Doc.
 *
 * Why: a Y.Doc cannot apply a forward diff without the state it was computed against (an
 * overwrite item names only its origin, not its map or key, so it stays pending), and a full
 * Y.Doc of a busy 1000x1000 board costs hundreds of MB of heap (measured in the project's
 * research). But every value the board document holds names its own place (tile-codec.ts), so
 * a reader holding a bitmap equal to the board at state vector S can reach the board at S' from
 * encodeStateAsUpdate(doc, S) alone:
 *
 *   1. decode every struct; keep the items whose content is a tile value, a shard base or the
 *      board descriptor ('config');
 *   2. drop those the update's own delete set marks deleted (an overwritten tile, the contents
 *      of a replaced shard or epoch: deleting a Y.Map deletes its entries too);
 *   3. grow the bitmap if the live descriptor is larger, paint live shard bases, then live tile
 *      values.
 *
 * Why that is exact: every change after S adds an item to the diff, and whatever later
 * overwrote or replaced it is itself in the diff; following that chain ends at a live item. At
 * most one live value exists per tile (one key per tile in one live shard map of one live epoch),
 * and a live tile value is always newer than its shard's live base (a base is only ever written
 * into a fresh map), hence bases first. The same holds for a chain of incremental updates
 * applied in order.
 *
 * The decoder is a streaming lib0 reader of the V1 format (yjs 13 src/utils/encoding.js,
 * readClientsStructRefs and readDeleteSet): no Item objects are built.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { DocConfig } from './doc-schema.ts'
import { decodeShardBase, decodeTileValue, isTileValue, paintShardBase, type ShardBase } from './tile-codec.ts'

/** A board bitmap: row-major color indices, width * height bytes. */
export type BoardBitmap = { bitmap: Uint8Array; width: number; height: number }

/** Struct range of one writer (Yjs client id) carried by an update: clocks [from, to). */
export type ClockRange = { from: number; to: number }

/** What an update holds for the board, after its own delete set was applied. */
export type BoardUpdate = {
  /** Live tile values (tile-codec.ts), in update order. */
  tiles: number[]
  /** Live shard bases. */
  bases: ShardBase[]
  /** The live board descriptor in this update, if it carries one (the board changed). */
  config: DocConfig | null
  /** Per Yjs client, the clocks of the structs the update carries (to advance a state vector). */
  ranges: Map<number, ClockRange>
}

/** Info byte flags and content refs of the V1 struct encoding (yjs src/structs/Item.js). */
const Info = { Origin: 0x80, RightOrigin: 0x40, ParentSub: 0x20, RefMask: 0x1f } as const
const ContentRef = {
  GC: 0,
  Deleted: 1,
  JSON: 2,
  Binary: 3,
  String: 4,
  Embed: 5,
  Format: 6,
  Type: 7,
  Any: 8,
  Doc: 9,
  Skip: 10,
} as const
/** Y.XmlElement (3) and Y.XmlHook (5) carry a node name after their type ref. */
const TYPE_REFS_WITH_KEY = new Set([3, 5])

const isDocConfig = (v: unknown): v is DocConfig => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const c = v as Record<string, unknown>
  return Number.isInteger(c.width) && Number.isInteger(c.height) && Array.isArray(c.palette) && Number.isInteger(c.version)
}

/** Candidate values, per kind: parallel arrays of (client, clock, value). */
type Candidates<T> = { client: number[]; clock: number[]; value: T[] }
const candidates = <T>(): Candidates<T> => ({ client: [], clock: [], value: [] })
const push = <T>(c: Candidates<T>, client: number, clock: number, value: T) => {
  c.client.push(client)
  c.clock.push(clock)
  c.value.push(value)
}

/** Whether (client, clock) falls in the delete set (ranges sorted by clock, as Yjs writes them). */
const isDeleted = (ds: Map<number, number[]>, client: number, clock: number): boolean => {
  const ranges = ds.get(client)
  if (!ranges) return false
  // ranges = [clock0, len0, clock1, len1, ...]: binary search for the last range starting <= clock.
  let lo = 0
  let hi = ranges.length / 2 - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const start = ranges[mid * 2] as number
    if (start <= clock) {
      if (clock < start + (ranges[mid * 2 + 1] as number)) return true
      lo = mid + 1
    } else hi = mid - 1
  }
  return false
}

const readId = (dec: decoding.Decoder) => {
  decoding.readVarUint(dec)
  decoding.readVarUint(dec)
}

/**
 * Decodes a Yjs V1 update into what it holds for the board: live tile values, live shard bases,
 * the live descriptor. Throws on bytes that are not a V1 update.
 */
export const readBoardUpdate = (update: Uint8Array): BoardUpdate => {
  const dec = decoding.createDecoder(update)
  const tiles = candidates<number>()
  const bases = candidates<Uint8Array>()
  const configs = candidates<DocConfig>()
  const ranges = new Map<number, ClockRange>()

  const clients = decoding.readVarUint(dec)
  for (let c = 0; c < clients; c++) {
    const structs = decoding.readVarUint(dec)
    const client = decoding.readVarUint(dec)
    const from = decoding.readVarUint(dec)
    let clock = from
    for (let s = 0; s < structs; s++) {
      const info = decoding.readUint8(dec)
      const ref = info & Info.RefMask
      if (ref === ContentRef.GC || ref === ContentRef.Skip) {
        clock += decoding.readVarUint(dec)
        continue
      }
      if (info & Info.Origin) readId(dec)
      if (info & Info.RightOrigin) readId(dec)
      if ((info & (Info.Origin | Info.RightOrigin)) === 0) {
        // Parent: 1 = a root type's name, 0 = the ID of the item holding the parent type.
        if (decoding.readVarUint(dec) === 1) decoding.readVarString(dec)
        else readId(dec)
        if (info & Info.ParentSub) decoding.readVarString(dec)
      }
      let length = 1
      switch (ref) {
        case ContentRef.Deleted:
          length = decoding.readVarUint(dec)
          break
        case ContentRef.JSON:
          length = decoding.readVarUint(dec)
          for (let i = 0; i < length; i++) decoding.readVarString(dec)
          break
        case ContentRef.Binary:
          push(bases, client, clock, decoding.readVarUint8Array(dec))
          break
        case ContentRef.String:
          length = decoding.readVarString(dec).length
          break
        case ContentRef.Embed:
          decoding.readVarString(dec)
          break
        case ContentRef.Format:
          decoding.readVarString(dec)
          decoding.readVarString(dec)
          break
        case ContentRef.Type:
          if (TYPE_REFS_WITH_KEY.has(decoding.readVarUint(dec))) decoding.readVarString(dec)
          break
        case ContentRef.Any:
          length = decoding.readVarUint(dec)
          for (let i = 0; i < length; i++) {
            const v: unknown = decoding.readAny(dec)
            if (isTileValue(v)) push(tiles, client, clock + i, v)
            else if (isDocConfig(v)) push(configs, client, clock + i, v)
          }
          break
        case ContentRef.Doc:
          decoding.readVarString(dec)
          decoding.readAny(dec)
          break
        default:
          throw new Error(`update reader: unknown content ref ${ref}`)
      }
      clock += length
    }
    ranges.set(client, { from, to: clock })
  }

  // The delete set: per client, (clock, len) ranges sorted by clock.
  const ds = new Map<number, number[]>()
  const dsClients = decoding.readVarUint(dec)
  for (let c = 0; c < dsClients; c++) {
    const client = decoding.readVarUint(dec)
    const n = decoding.readVarUint(dec)
    const flat = new Array<number>(n * 2)
    for (let i = 0; i < n * 2; i++) flat[i] = decoding.readVarUint(dec)
    ds.set(client, flat)
  }

  const live = <T>(c: Candidates<T>): T[] => {
    const out: T[] = []
    for (let i = 0; i < c.value.length; i++) {
      if (!isDeleted(ds, c.client[i] as number, c.clock[i] as number)) out.push(c.value[i] as T)
    }
    return out
  }
  const liveBases: ShardBase[] = []
  for (const bytes of live(bases)) {
    const base = decodeShardBase(bytes)
    if (base) liveBases.push(base)
  }
  const liveConfigs = live(configs)
  return { tiles: live(tiles), bases: liveBases, config: liveConfigs[liveConfigs.length - 1] ?? null, ranges }
}

/** Copies a bitmap into a larger one (the board grew); new tiles are color 0. */
export const growBitmap = (board: BoardBitmap, width: number, height: number): BoardBitmap => {
  if (width <= board.width && height <= board.height) return board
  const w = Math.max(width, board.width)
  const h = Math.max(height, board.height)
  const bitmap = new Uint8Array(w * h)
  for (let y = 0; y < board.height; y++) bitmap.set(board.bitmap.subarray(y * board.width, (y + 1) * board.width), y * w)
  return { bitmap, width: w, height: h }
}

/**
 * Paints a decoded update onto a board: grows it first if the update's descriptor is larger,
 * then paints bases, then tiles (values outside the board are skipped). Returns the board,
 * which is a new object only if it grew; otherwise `board.bitmap` was changed in place.
 */
export const paintBoardUpdate = (board: BoardBitmap, update: BoardUpdate): BoardBitmap => {
  const target = update.config ? growBitmap(board, update.config.width, update.config.height) : board
  const { bitmap, width, height } = target
  for (const base of update.bases) paintShardBase(bitmap, width, height, base)
  for (const value of update.tiles) {
    const { x, y, color } = decodeTileValue(value)
    if (x < width && y < height) bitmap[y * width + x] = color
  }
  return target
}

/**
 * Decodes a Yjs V1 update of the board document and paints it onto `board` (see the module
 * comment for why this is exact). Returns the painted board (new only if it grew) and the
 * decoded update (its descriptor, if any, and the clock ranges it carried).
 */
export const applyUpdateToBitmap = (board: BoardBitmap, update: Uint8Array): { board: BoardBitmap; update: BoardUpdate } => {
  const decoded = readBoardUpdate(update)
  return { board: paintBoardUpdate(board, decoded), update: decoded }
}

/** A Yjs state vector as a map from client id to the next expected clock. */
export type StateVector = Map<number, number>

/** Decodes a Yjs state vector (Y.encodeStateVector's format). */
export const decodeStateVector = (bytes: Uint8Array): StateVector => {
  const dec = decoding.createDecoder(bytes)
  const sv: StateVector = new Map()
  const n = decoding.readVarUint(dec)
  for (let i = 0; i < n; i++) {
    const client = decoding.readVarUint(dec)
    sv.set(client, decoding.readVarUint(dec))
  }
  return sv
}

/** Encodes a state vector as Y.encodeStateVector does. */
export const encodeStateVector = (sv: StateVector): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, sv.size)
  // Yjs writes clients in descending id order; the order does not matter to readers.
  for (const [client, clock] of [...sv.entries()].sort((a, b) => b[0] - a[0])) {
    encoding.writeVarUint(enc, client)
    encoding.writeVarUint(enc, clock)
  }
  return encoding.toUint8Array(enc)
}

/**
 * Advances a state vector over the clock ranges of an update applied to the bitmap. A range
 * that starts beyond the vector's clock (a gap: an update was missed) does not advance it, so
 * a resync from the vector still asks for the missing structs.
 */
export const advanceStateVector = (sv: StateVector, ranges: ReadonlyMap<number, ClockRange>): void => {
  for (const [client, { from, to }] of ranges) {
    const have = sv.get(client) ?? 0
    if (from <= have && to > have) sv.set(client, to)
  }
}

/** Sum of a state vector's clocks: grows with every change of a document with one writer at a time. */
export const stateVectorSum = (sv: ReadonlyMap<number, number>): number => {
  let sum = 0
  for (const clock of sv.values()) sum += clock
  return sum
}
