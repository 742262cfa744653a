/**
 * Named values of a board beside its history: meta numbers (varuint; counters such as
 * indexSeq, written with the commit that changes them) and JSON entries ('' board = global).
 */
import * as decoding from 'lib0/decoding'
import type { HistoryLevel } from './history-db.ts'
import { type BatchOp, type BoardPrefixes, decodeJson, encodeJson, encodeVarUint, nameKey } from './history-keys.ts'

/** Adds to `ops` the writes of meta values under a board's meta prefix. */
export const pushMetaOps = (ops: BatchOp[], metaPrefix: Uint8Array, meta: Record<string, number>): void => {
  for (const [name, value] of Object.entries(meta)) ops.push({ type: 'put', key: nameKey(metaPrefix, name), value: encodeVarUint(value) })
}

export type HistoryMeta = {
  /** A meta value, or `fallback`. */
  readMeta: (board: string, name: string, fallback: number) => Promise<number>
  /** A JSON value stored under a name, or undefined. */
  getJson: (board: string, name: string) => Promise<unknown>
  putJson: (board: string, name: string, value: unknown) => Promise<void>
}

export const createHistoryMeta = (db: HistoryLevel, prefixesOf: (board: string) => BoardPrefixes, sync: boolean): HistoryMeta => ({
  readMeta: async (board, name, fallback) => {
    // classic-level 1 rejects get() of a missing key; getMany answers undefined instead.
    const [value] = await db.getMany([nameKey(prefixesOf(board).meta, name)])
    return value === undefined ? fallback : decoding.readVarUint(decoding.createDecoder(value))
  },
  getJson: async (board, name) => {
    const [value] = await db.getMany([nameKey(prefixesOf(board).json, name)])
    return value === undefined ? undefined : decodeJson(value)
  },
  putJson: async (board, name, value) => {
    await db.put(nameKey(prefixesOf(board).json, name), encodeJson(value), { sync })
  },
})
