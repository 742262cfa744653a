/**
 * The board documents, stored in the history database in y-leveldb's own layout (keys in
 * relay/history-keys.ts): each commit's Yjs update under the board's next clock, written in the
 * commit's one batch with its records; when enough have gathered, the whole document's state
 * replaces them, in one batch too. One database, one write per commit, no copy: what a commit
 * acknowledged is in the document on disk. Stock y-leveldb reads it (the relay stopped:
 * LevelDB's lock keeps a second process out while it runs).
 */
import * as encoding from 'lib0/encoding'
import { PREFERRED_TRIM_SIZE } from 'y-leveldb'
import * as Y from 'yjs'
import type { HistoryLevel } from './history-db.ts'
import { type BatchOp, docStateVectorKey, docUpdateKey, docUpdatesEnd } from './history-keys.ts'

/**
 * Updates stored after the state (one a commit) at which the next commit stores the state in
 * their place: at most PREFERRED_TRIM_SIZE keys are stored, so stock y-leveldb's getYDoc (which
 * rewrites a document of more) only reads. What a start applies after the state.
 */
export const COMPACT_EVERY = PREFERRED_TRIM_SIZE
/**
 * Bytes of updates stored after the state at which the next commit stores the state in their
 * place whatever their count (about 200,000 placements of Yjs updates): what a start applies
 * after the state.
 */
export const COMPACT_BYTES = 4 * 1024 * 1024

/** A board's stored updates: clocks first..last (last -1: none), and the count and bytes of those after the state. */
type Stored = { first: number; last: number; since: number; bytes: number }

/** A stored update and its clock. */
export type StoredUpdate = { clock: number; bytes: Uint8Array }

/**
 * A board's stored updates in clock order, from a database in y-leveldb's layout (the history,
 * or DATA_DIR/doc of the earlier layout).
 */
export async function* readDocUpdates(db: HistoryLevel, board: string): AsyncIterable<StoredUpdate> {
  for await (const [key, value] of db.iterator({ gte: docUpdateKey(board, 0), lt: docUpdatesEnd(board) })) {
    // The clock is the key's last 4 bytes (u32 BE).
    const clock = new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(key.byteLength - 4)
    yield { clock, bytes: value }
  }
}

/**
 * Applies updates to `doc`, each in its own transaction. Not y-leveldb's getYDoc, which applies
 * every stored update in one transaction: Yjs collects garbage only when a transaction ends, so
 * every tile overwritten since the state would be a full item at once (with updates merged once
 * a second, 600 of them held 7 M placements and that load ran the relay out of its 4 GB heap,
 * measured in the replay). One at a time, a load needs memory for the document only.
 */
export const applyEach = async (doc: Y.Doc, updates: AsyncIterable<StoredUpdate>): Promise<Stored> => {
  const stored: Stored = { first: -1, last: -1, since: 0, bytes: 0 }
  for await (const u of updates) {
    Y.applyUpdate(doc, u.bytes)
    if (stored.first < 0) stored.first = u.clock
    else {
      stored.since += 1
      stored.bytes += u.bytes.length
    }
    stored.last = u.clock
  }
  return stored
}

/**
 * The writes that store `doc`'s whole state as update 0 of `board`, with its state vector laid
 * out as y-leveldb writes it (varuint clock, then the vector), and delete updates 1..`last`.
 * Clocks restart at 0, so they stay far below y-leveldb's 2^32 bound.
 */
export const docStateOps = (board: string, doc: Y.Doc, older: { first: number; last: number }): BatchOp[] => {
  const sv = encoding.createEncoder()
  encoding.writeVarUint(sv, 0)
  encoding.writeVarUint8Array(sv, Y.encodeStateVector(doc))
  // In one LevelDB batch the later write of a key wins: update 0 is put, never deleted.
  const ops: BatchOp[] = [
    { type: 'put', key: docUpdateKey(board, 0), value: Y.encodeStateAsUpdate(doc) },
    { type: 'put', key: docStateVectorKey(board), value: encoding.toUint8Array(sv) },
  ]
  for (let clock = Math.max(1, older.first); clock <= older.last; clock++) ops.push({ type: 'del', key: docUpdateKey(board, clock) })
  return ops
}

export type DocUpdates = {
  /** Loads a board's document (empty if none is stored) to write it: notes its stored updates for `writeOps`. */
  load: (board: string) => Promise<Y.Doc>
  /** Reads a board's document as stored now (a reader's copy: what `writeOps` knows is left as it is). */
  read: (board: string) => Promise<Y.Doc>
  /**
   * The writes that store a commit's `update` of a loaded board's `doc` (which holds it): the
   * update under the next clock, or, when COMPACT_EVERY updates or COMPACT_BYTES are stored
   * after the state (or nothing is stored yet), the document's state in place of them all. The
   * caller writes them in the commit's batch, retried until durable, before asking for the next.
   */
  writeOps: (board: string, update: Uint8Array, doc: Y.Doc) => BatchOp[]
  /** Number of updates stored for a board (tests and diagnostics). */
  storedUpdates: (board: string) => Promise<number>
}

export const createDocUpdates = (db: HistoryLevel): DocUpdates => {
  const stored = new Map<string, Stored>()
  return {
    load: async (board) => {
      const doc = new Y.Doc()
      stored.set(board, await applyEach(doc, readDocUpdates(db, board)))
      return doc
    },
    read: async (board) => {
      const doc = new Y.Doc()
      await applyEach(doc, readDocUpdates(db, board))
      return doc
    },
    writeOps: (board, update, doc) => {
      const s = stored.get(board)
      if (!s) throw new Error(`board ${board}: its document was not loaded`)
      if (s.last < 0 || s.since + 1 >= COMPACT_EVERY || s.bytes + update.length >= COMPACT_BYTES) {
        const ops = docStateOps(board, doc, s)
        stored.set(board, { first: 0, last: 0, since: 0, bytes: 0 })
        return ops
      }
      s.last += 1
      s.since += 1
      s.bytes += update.length
      return [{ type: 'put', key: docUpdateKey(board, s.last), value: update }]
    },
    storedUpdates: async (board) => {
      let n = 0
      for await (const _ of db.keys({ gte: docUpdateKey(board, 0), lt: docUpdatesEnd(board) })) n += 1
      return n
    },
  }
}
