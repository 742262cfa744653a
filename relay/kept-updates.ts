/**
 * The document updates kept in the history database: each commit's Yjs update is written in the
 * commit's batch and waits here until the room has written it to the document store (y-leveldb,
 * in the background), which then drops it.
 */
import type { HistoryLevel } from './history-db.ts'
import { type BatchOp, type BoardPrefixes, rangeEnd, readU64, seqKey } from './history-keys.ts'
import { pushMetaOps } from './history-meta.ts'

export type KeptUpdates = {
  /** Kept updates with n > afterN, ascending. */
  readUpdates: (board: string, afterN: number) => AsyncIterable<{ n: number; bytes: Uint8Array }>
  /** The highest update number kept (0 if none). */
  lastUpdate: (board: string) => Promise<number>
  /** Drops kept updates with n <= upTo (the document store holds them) and sets meta, in one batch. */
  dropUpdates: (board: string, upTo: number, meta?: Record<string, number>) => Promise<void>
  /** The write that keeps update `n` (to join a commit's batch). */
  updateOp: (board: string, update: { n: number; bytes: Uint8Array }) => BatchOp
}

export const createKeptUpdates = (db: HistoryLevel, prefixesOf: (board: string) => BoardPrefixes, sync: boolean): KeptUpdates => ({
  readUpdates: async function* (board, afterN) {
    const p = prefixesOf(board).update
    for await (const [key, value] of db.iterator({ gt: seqKey(p, afterN), lt: rangeEnd(p) })) {
      yield { n: readU64(key, p.length), bytes: value }
    }
  },
  lastUpdate: async (board) => {
    const p = prefixesOf(board).update
    for await (const key of db.keys({ gte: p, lt: rangeEnd(p), reverse: true, limit: 1 })) return readU64(key, p.length)
    return 0
  },
  dropUpdates: async (board, upTo, meta = {}) => {
    const p = prefixesOf(board)
    const ops: BatchOp[] = []
    for await (const key of db.keys({ gte: p.update, lte: seqKey(p.update, upTo) })) ops.push({ type: 'del', key })
    pushMetaOps(ops, p.meta, meta)
    await db.batch(ops, { sync })
  },
  updateOp: (board, update) => ({ type: 'put', key: seqKey(prefixesOf(board).update, update.n), value: update.bytes }),
})
