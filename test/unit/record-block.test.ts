/**
 * The record block codec (relay/record-block.ts): every record readable alone at any position
 * (before, at and after each stride boundary) and all together, seqs derived from the key's
 * last seq, previous seqs kept, any user string; and the earlier one-record values, with and
 * without their previous seq.
 */
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import {
  BLOCK_STRIDE,
  decodeLegacy,
  encodeBlock,
  KIND_HAS_ID,
  openBlock,
  recordOf,
  recordsOf,
  writeRecord,
} from '../../relay/record-block.ts'
import { type PlacementRecord, RecordKind } from '../../shared/placement-record.ts'

const USERS = ['u', 'Zk3_-9aQ', 'émile', '名前', '🧱🧱', '']

const recordsFrom = (first: number, n: number): PlacementRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    seq: first + i,
    x: (i * 37) % 4096,
    y: (i * 101) % 4096,
    color: i % 32,
    user: USERS[i % USERS.length] as string,
    placedAt: 1_700_000_000_000 + i * 7,
    kind: (i % 3) as RecordKind,
    ref: i % 3 === RecordKind.Restore ? i * 2 : 0,
  }))

describe('record blocks', () => {
  for (const n of [1, BLOCK_STRIDE - 1, BLOCK_STRIDE, BLOCK_STRIDE + 1, 3 * BLOCK_STRIDE + 5, 1_024]) {
    it(`round-trips ${n} records, one at a time and all at once`, () => {
      const first = 2 ** 40 + 17
      const records = recordsFrom(first, n)
      const prevSeqOf = (r: PlacementRecord) => (r.seq * 13) % 1_000_003
      const block = openBlock(first + n - 1, encodeBlock(records, records.map(prevSeqOf)))
      expect(block.first).toBe(first)
      expect(block.count).toBe(n)
      for (let i = 0; i < n; i++) {
        expect(recordOf(block, i), `record ${i}`).toEqual({ record: records[i], prevSeq: prevSeqOf(records[i] as PlacementRecord) })
      }
      expect(recordsOf(block)).toEqual(records)
    })
  }

  it('round-trips placement ids, on some records and not others, at every position', () => {
    const first = 1_000
    const n = 3 * BLOCK_STRIDE + 5
    const records = recordsFrom(first, n).map((r, i) => (i % 3 === 1 ? r : { ...r, id: i % 2 ? 'Zk3_-9aQ0123456789abcd' : `${i}` }))
    const block = openBlock(
      first + n - 1,
      encodeBlock(
        records,
        records.map((r) => r.seq - 1),
      ),
    )
    for (let i = 0; i < n; i++) expect(recordOf(block, i), `record ${i}`).toEqual({ record: records[i], prevSeq: first + i - 1 })
    expect(recordsOf(block)).toEqual(records)
    expect(recordsOf(block).filter((r) => 'id' in r)).toHaveLength(records.filter((r) => r.id !== undefined).length)
  })

  it('reads blocks written before placement ids existed', () => {
    // The layout before ids, written field by field: x, y, color, placedAt, user, kind, ref, prevSeq.
    const records = recordsFrom(1, BLOCK_STRIDE + 3)
    const body = encoding.createEncoder()
    const offsets: number[] = []
    records.forEach((r, i) => {
      if (i % BLOCK_STRIDE === 0) offsets.push(encoding.length(body))
      for (const v of [r.x, r.y, r.color, r.placedAt]) encoding.writeVarUint(body, v)
      encoding.writeVarString(body, r.user)
      for (const v of [r.kind, r.ref, i]) encoding.writeVarUint(body, v)
    })
    const head = encoding.createEncoder()
    encoding.writeVarUint(head, records.length)
    for (const o of offsets) encoding.writeUint32(head, o)
    const bytes = new Uint8Array([...encoding.toUint8Array(head), ...encoding.toUint8Array(body)])
    const block = openBlock(records.length, bytes)
    expect(recordsOf(block)).toEqual(records)
    for (let i = 0; i < records.length; i++) expect(recordOf(block, i)).toEqual({ record: records[i], prevSeq: i })
    // Without ids the new writer writes the same bytes.
    expect(
      encodeBlock(
        records,
        records.map((_, i) => i),
      ),
    ).toEqual(bytes)
    expect(Math.max(...Object.values(RecordKind))).toBeLessThan(KIND_HAS_ID)
  })

  it('costs 4 bytes of offsets per stride', () => {
    const records = recordsFrom(1, 4 * BLOCK_STRIDE)
    const enc = encoding.createEncoder()
    for (const r of records) writeRecord(enc, r, 0)
    const bare = encoding.length(enc)
    // The count (2 varuint bytes for 128) and 4 offsets of 4 bytes.
    expect(
      encodeBlock(
        records,
        records.map(() => 0),
      ).length,
    ).toBe(bare + 2 + 4 * 4)
  })

  it('reads values of the one-key-a-record layout, with and without the previous seq', () => {
    const [r] = recordsFrom(5, 1) as [PlacementRecord]
    const withPrev = encoding.createEncoder()
    writeRecord(withPrev, r, 3)
    expect(decodeLegacy(5, encoding.toUint8Array(withPrev))).toEqual({ record: r, prevSeq: 3 })
    // The oldest values end after ref.
    const bytes = encoding.toUint8Array(withPrev)
    const withoutPrev = bytes.subarray(0, bytes.length - 1)
    expect(decodeLegacy(5, withoutPrev)).toEqual({ record: r, prevSeq: 0 })
  })
})
