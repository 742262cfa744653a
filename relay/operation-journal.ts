/**
 * The journal of admin operations in progress (relay/admin-ops.ts): one JSON entry by board and
 * name, written before an operation touches anything and deleted when it finishes, so that an
 * open resumes what a stop interrupted.
 */
import type { HistoryLevel } from './history-db.ts'
import { type BatchOp, type BoardPrefixes, decodeJson, encodeJson, nameKey, Prefix } from './history-keys.ts'

export type OperationJournal = {
  /** Entries of operations not finished, by board and name. */
  readOperations: () => Promise<{ board: string; name: string; value: unknown }[]>
  /** Writes an entry (durably). */
  putOperation: (board: string, name: string, value: unknown) => Promise<void>
  /** Adds to `ops` the writes of entries by name; null deletes one (to join another batch). */
  pushOperationOps: (ops: BatchOp[], board: string, operations: Record<string, unknown>) => void
}

export const createOperationJournal = (db: HistoryLevel, prefixesOf: (board: string) => BoardPrefixes, sync: boolean): OperationJournal => {
  const operationKey = (board: string, name: string) => nameKey(prefixesOf(board).operation, name)
  return {
    readOperations: async () => {
      const out: { board: string; name: string; value: unknown }[] = []
      const td = new TextDecoder()
      for await (const [key, value] of db.iterator({
        gte: new Uint8Array([Prefix.Operation]),
        lt: new Uint8Array([Prefix.Operation + 1]),
      })) {
        const sep = key.indexOf(0, 1)
        out.push({ board: td.decode(key.subarray(1, sep)), name: td.decode(key.subarray(sep + 1)), value: decodeJson(value) })
      }
      return out
    },
    putOperation: async (board, name, value) => {
      await db.put(operationKey(board, name), encodeJson(value), { sync })
    },
    pushOperationOps: (ops, board, operations) => {
      for (const [name, value] of Object.entries(operations)) {
        const key = operationKey(board, name)
        ops.push(value === null ? { type: 'del', key } : { type: 'put', key, value: encodeJson(value) })
      }
    },
  }
}
