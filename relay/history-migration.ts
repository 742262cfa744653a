/**
 * Conversion of the one-key-a-record layout (Prefix.LegacyRecord: `0x01 board 0x00 seq`, one
 * record a value) into blocks, run by every open (a no-op once converted).
 */

import type { PlacementRecord } from '../shared/placement-record.ts'
import { MAX_BLOCK_RECORDS } from './history-blocks.ts'
import type { HistoryLevel } from './history-db.ts'
import { type BatchOp, type BoardPrefixes, Prefix, readU64, seqKey } from './history-keys.ts'
import { decodeLegacy, encodeBlock } from './record-block.ts'

/** What a conversion tells (once; it makes that start slower). */
export type ConvertEvent = { phase: 'start' } | { phase: 'done'; records: number; ms: number }

/**
 * Converts the one-key-a-record layout into blocks, a block per batch with the deletion of
 * its keys (so an interrupted conversion resumes where it stopped).
 */
export const migrateRecordKeys = async (
  db: HistoryLevel,
  prefixesOf: (board: string) => BoardPrefixes,
  opts: { sync: boolean; onConvert?: ((event: ConvertEvent) => void) | undefined },
): Promise<void> => {
  const start = new Uint8Array([Prefix.LegacyRecord])
  const end = new Uint8Array([Prefix.LegacyRecord + 1])
  let board = ''
  let records: PlacementRecord[] = []
  let prevSeqs: number[] = []
  let doomed: Uint8Array[] = []
  const flush = async () => {
    if (records.length === 0) return
    const ops: BatchOp[] = [
      {
        type: 'put',
        key: seqKey(prefixesOf(board).block, (records[records.length - 1] as PlacementRecord).seq),
        value: encodeBlock(records, prevSeqs),
      },
      ...doomed.map((key) => ({ type: 'del' as const, key })),
    ]
    await db.batch(ops, { sync: opts.sync })
    records = []
    prevSeqs = []
    doomed = []
  }
  const t0 = performance.now()
  let converted = 0
  for await (const [key, value] of db.iterator({ gte: start, lt: end })) {
    if (converted++ === 0) opts.onConvert?.({ phase: 'start' })
    const sep = key.indexOf(0, 1)
    const keyBoard = new TextDecoder().decode(key.subarray(1, sep))
    const seq = readU64(key, sep + 1)
    const last = records[records.length - 1]
    // A block holds consecutive seqs of one board.
    if (keyBoard !== board || !last || last.seq + 1 !== seq || records.length >= MAX_BLOCK_RECORDS) await flush()
    board = keyBoard
    const { record, prevSeq } = decodeLegacy(seq, value)
    records.push(record)
    prevSeqs.push(prevSeq)
    doomed.push(key)
  }
  await flush()
  if (converted > 0) opts.onConvert?.({ phase: 'done', records: converted, ms: performance.now() - t0 })
}
