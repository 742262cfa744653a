/**
 * Rollback marks: which rollbacks in force mark a placement (by seq, for tile history and
 * counts) and which placements each rollback marks (by id, for its undo). A placement may be
 * rolled back by several rollbacks; it counts again only when every one of them is undone.
 * Mark writes join a commit's batch (relay/history-store.ts AppendExtra), so they land with the
 * restores or not at all.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { HistoryLevel } from './history-db.ts'
import { type BatchOp, type BoardPrefixes, readU64, seqKey, writeU64 } from './history-keys.ts'

/** A change of one rollback's marks: adds `id` to the marks of `add`, removes it from those of `remove`. */
export type MarkChange = { id: number; add: readonly number[]; remove: readonly number[] }

export type RollbackMarks = {
  /** The rollback ids in force on each of these seqs (empty: counts). */
  marksOf: (board: string, seqs: readonly number[]) => Promise<number[][]>
  /** Which of these seqs are rolled back (by at least one rollback in force). */
  rolledBackOf: (board: string, seqs: readonly number[]) => Promise<Set<number>>
  /** The seqs rollback `id` marks, ascending. */
  membersOf: (board: string, id: number) => Promise<number[]>
  /**
   * The writes of a MarkChange. Idempotent: adding a mark already there, or removing one that
   * is not, changes nothing (a resumed operation may repeat a chunk's marks).
   */
  markOps: (board: string, change: MarkChange) => Promise<BatchOp[]>
}

/** Rollback ids that mark a placement, as stored: a list of varuints (absent = none). */
const encodeIds = (ids: readonly number[]) => {
  const enc = encoding.createEncoder()
  for (const id of ids) encoding.writeVarUint(enc, id)
  return encoding.toUint8Array(enc)
}
const decodeIds = (bytes: Uint8Array) => {
  const dec = decoding.createDecoder(bytes)
  const ids: number[] = []
  while (decoding.hasContent(dec)) ids.push(decoding.readVarUint(dec))
  return ids
}

const empty = new Uint8Array(0)

export const createRollbackMarks = (db: HistoryLevel, prefixesOf: (board: string) => BoardPrefixes): RollbackMarks => {
  const rolledKey = (board: string, seq: number) => seqKey(prefixesOf(board).rolled, seq)
  const memberKey = (board: string, id: number, seq: number) => {
    const prefix = prefixesOf(board).member
    const key = new Uint8Array(prefix.length + 16)
    key.set(prefix)
    writeU64(key, prefix.length, id)
    writeU64(key, prefix.length + 8, seq)
    return key
  }
  const marksOf = async (board: string, seqs: readonly number[]) =>
    seqs.length === 0 ? [] : (await db.getMany(seqs.map((s) => rolledKey(board, s)))).map((v) => (v ? decodeIds(v) : []))
  return {
    marksOf,
    rolledBackOf: async (board, seqs) => {
      const marks = await marksOf(board, seqs)
      return new Set(seqs.filter((_, i) => (marks[i]?.length ?? 0) > 0))
    },
    membersOf: async (board, id) => {
      const seqs: number[] = []
      for await (const key of db.keys({ gte: memberKey(board, id, 0), lt: memberKey(board, id + 1, 0) })) {
        seqs.push(readU64(key, key.length - 8))
        // Keys arrive in microtasks, many per read: return to the event loop now and then.
        if (seqs.length % 8_192 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      return seqs
    },
    markOps: async (board, { id, add, remove }) => {
      const marks = await marksOf(board, [...add, ...remove])
      const ops: BatchOp[] = []
      add.forEach((seq, i) => {
        const m = marks[i] ?? []
        if (!m.includes(id)) ops.push({ type: 'put', key: rolledKey(board, seq), value: encodeIds([...m, id]) })
        ops.push({ type: 'put', key: memberKey(board, id, seq), value: empty })
      })
      remove.forEach((seq, j) => {
        const left = (marks[add.length + j] ?? []).filter((m) => m !== id)
        if (left.length > 0) ops.push({ type: 'put', key: rolledKey(board, seq), value: encodeIds(left) })
        else ops.push({ type: 'del', key: rolledKey(board, seq) })
        ops.push({ type: 'del', key: memberKey(board, id, seq) })
      })
      return ops
    },
  }
}
