/**
 * The keys of the history database (DATA_DIR/history), and the byte helpers every part of the
 * store writes them with (pure: no I/O).
 *
 * Keys (bytes): 0x0a board 0x00 seq(u64 BE)         -> a block: the records up to seq (relay/record-block.ts)
 *               0x03 board 0x00 name                -> meta value (varuint; relay/history-meta.ts)
 *               0x04 board 0x00 name                -> a JSON entry ('' board = global; relay/history-meta.ts)
 *               0x05 seq(u64 BE)                    -> an audit entry (JSON; relay/audit-log.ts)
 *               0x06 board 0x00 seq(u64 BE)         -> the rollback ids marking a placement (relay/rollback-marks.ts)
 *               0x07 board 0x00 id(u64 BE) seq(u64 BE) -> empty: rollback id marks seq
 *               0x08 board 0x00 chunk(u32 BE)       -> tile index chunk: 64 x 64 latest seqs (u32 LE; relay/tile-index-store.ts)
 *               0x09 board 0x00 n(u64 BE)           -> earlier layout: a document update not yet copied to DATA_DIR/doc
 *                                                      (read and deleted once by relay/doc-migration.ts)
 *               0x0b board 0x00 name                -> an admin operation in progress (JSON; relay/operation-journal.ts)
 *
 *   and the board documents in y-leveldb's own layout (relay/doc-updates.ts), built with
 *   y-leveldb's exported `keyEncoding` (each string 0x00 varuint-length UTF-8, each number 0x01 u32 BE):
 *               ['v1', board, 'update', clock]      -> a Yjs update of the board's document (clock u32)
 *               ['v1_sv', board]                    -> varuint clock, varuint-length state vector
 *   These start with byte 0x00, the history's keys with 0x01..0x0b, so the two never collide and
 *   stock y-leveldb (`new LeveldbPersistence(DATA_DIR/history).getYDoc(board)`) reads the
 *   documents of a stopped relay.
 * Board ids never contain 0x00 (BOARD_ID_PATTERN), so the separator is unambiguous. Big-endian
 * numbers in keys sort as numbers do, so a range of seqs is a range of keys.
 */
import * as encoding from 'lib0/encoding'
import { keyEncoding } from 'y-leveldb'

// 1 held one record per key and 2 per-tile keys in earlier layouts: an open converts 1 into
// blocks (relay/history-migration.ts); 2 stays unused. 9 held document updates on their way to
// DATA_DIR/doc: an open moves them into the document (relay/doc-migration.ts).
export const Prefix = {
  LegacyRecord: 1,
  Meta: 3,
  Json: 4,
  Audit: 5,
  RolledBack: 6,
  RollbackMembers: 7,
  TileIndex: 8,
  LegacyDocUpdate: 9,
  Block: 10,
  Operation: 11,
} as const

/** One write of a LevelDB batch. */
export type BatchOp = { type: 'del'; key: Uint8Array } | { type: 'put'; key: Uint8Array; value: Uint8Array }

const te = new TextEncoder()

/** `kind board 0x00`: the start of a board's keys of one kind. */
export const boardPrefix = (kind: number, board: string): Uint8Array => {
  const id = te.encode(board)
  const out = new Uint8Array(id.length + 2)
  out[0] = kind
  out.set(id, 1)
  return out
}

/** Writes n (an integer below 2^53) as 8 bytes big-endian at `at`. */
export const writeU64 = (out: Uint8Array, at: number, n: number) => {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  view.setUint32(at, Math.floor(n / 2 ** 32))
  view.setUint32(at + 4, n >>> 0)
}
export const readU64 = (bytes: Uint8Array, at: number): number => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4)
}

/** `prefix seq(u64 BE)`. */
export const seqKey = (prefix: Uint8Array, seq: number): Uint8Array => {
  const key = new Uint8Array(prefix.length + 8)
  key.set(prefix)
  writeU64(key, prefix.length, seq)
  return key
}

/** `prefix name(UTF-8)`. */
export const nameKey = (prefix: Uint8Array, name: string): Uint8Array => {
  const n = te.encode(name)
  const key = new Uint8Array(prefix.length + n.length)
  key.set(prefix)
  key.set(n, prefix.length)
  return key
}

/** `prefix chunk(u32 BE)`. */
export const chunkKey = (prefix: Uint8Array, chunk: number): Uint8Array => {
  const key = new Uint8Array(prefix.length + 4)
  key.set(prefix)
  new DataView(key.buffer).setUint32(prefix.length, chunk)
  return key
}

/** The end of a key range: the prefix with its last byte incremented (prefix's last byte is 0x00). */
export const rangeEnd = (prefix: Uint8Array): Uint8Array => {
  const end = prefix.slice()
  end[end.length - 1] = 0x01
  return end
}

export const encodeVarUint = (n: number): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, n)
  return encoding.toUint8Array(enc)
}

/** A JSON value as stored (UTF-8). */
export const encodeJson = (value: unknown): Uint8Array => te.encode(JSON.stringify(value))
export const decodeJson = (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(bytes))

/** y-leveldb's key of update `clock` (an integer below 2^32 - 1) of a board's document. */
export const docUpdateKey = (board: string, clock: number): Uint8Array => keyEncoding.encode(['v1', board, 'update', clock])

/** The end (exclusive) of a board's update keys, as y-leveldb bounds them (clock 2^32 - 1). */
export const docUpdatesEnd = (board: string): Uint8Array => docUpdateKey(board, 0xffffffff)

/** y-leveldb's key of a board document's state vector (it lists documents by these keys). */
export const docStateVectorKey = (board: string): Uint8Array => keyEncoding.encode(['v1_sv', board])

/** The range of every document's state-vector key, as y-leveldb lists documents: ['v1_sv'] to ['v1_sw']. */
export const docStateVectorRange = (): { gte: Uint8Array; lt: Uint8Array } => ({
  gte: keyEncoding.encode(['v1_sv']),
  lt: keyEncoding.encode(['v1_sw']),
})

/** The board a state-vector key names. */
export const boardOfStateVectorKey = (key: Uint8Array): string => String(keyEncoding.decode(key)[1])

/** A board's key prefixes, built once a board (a rollback builds hundreds of thousands of keys). */
export type BoardPrefixes = {
  block: Uint8Array
  meta: Uint8Array
  json: Uint8Array
  index: Uint8Array
  legacyUpdate: Uint8Array
  operation: Uint8Array
  rolled: Uint8Array
  member: Uint8Array
}

/** A cache of BoardPrefixes by board. */
export const createBoardPrefixes = (): ((board: string) => BoardPrefixes) => {
  const prefixes = new Map<string, BoardPrefixes>()
  return (board) => {
    let p = prefixes.get(board)
    if (!p) {
      p = {
        block: boardPrefix(Prefix.Block, board),
        meta: boardPrefix(Prefix.Meta, board),
        json: boardPrefix(Prefix.Json, board),
        index: boardPrefix(Prefix.TileIndex, board),
        legacyUpdate: boardPrefix(Prefix.LegacyDocUpdate, board),
        operation: boardPrefix(Prefix.Operation, board),
        rolled: boardPrefix(Prefix.RolledBack, board),
        member: boardPrefix(Prefix.RollbackMembers, board),
      }
      prefixes.set(board, p)
    }
    return p
  }
}
