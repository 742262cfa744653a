/**
 * The history store's tile index: each tile's records as a chain from the latest (kept in
 * memory, written as chunks), the same after a reopen, and rebuilt from the records when the
 * chunks on disk are missing or behind. Record blocks: any seq readable whatever block edge it
 * is near, and the earlier one-key-a-record layout converted on open. Real LevelDB in a
 * temporary directory.
 */
import { ClassicLevel } from 'classic-level'
import * as encoding from 'lib0/encoding'
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_BLOCK_RECORDS } from '../../relay/history-blocks.ts'
import { type HistoryStore, openHistoryStore } from '../../relay/history-store.ts'
import { createTileIndex, MAX_INDEXED_SEQ } from '../../relay/tile-index.ts'
import { type PlacementRecord, RecordKind } from '../../shared/placement-record.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const open = async (dir: string): Promise<HistoryStore> => openHistoryStore(dir, { sync: false })

let nextSeq = 1
const rec = (x: number, y: number, color: number, user = 'u'): PlacementRecord => ({
  seq: nextSeq++,
  x,
  y,
  color,
  user,
  placedAt: 1_000 + nextSeq,
  kind: RecordKind.Placement,
  ref: 0,
})

/** Every record of a tile, newest first, from the whole history (the reference). */
const byScan = async (h: HistoryStore, x: number, y: number) => {
  const all: PlacementRecord[] = []
  for await (const r of h.readAfter('b', 0)) if (r.x === x && r.y === y) all.push(r)
  return all.reverse()
}

describe('tile index', () => {
  it('keeps chunks sparse and refuses seqs it cannot hold', () => {
    const t = createTileIndex()
    expect(t.get(8191, 8191)).toBe(0)
    t.set(8191, 8191, 7)
    t.set(0, 0, 3)
    expect(t.get(8191, 8191)).toBe(7)
    expect(t.get(0, 0)).toBe(3)
    expect(t.get(1, 0)).toBe(0)
    expect([...t.takeDirty().keys()].length).toBe(2)
    expect(t.takeDirty().size).toBe(0)
    expect(() => t.set(1, 1, MAX_INDEXED_SEQ + 1)).toThrow(/beyond/)
  })

  it('walks a tile history newest first, pages with before, and survives reopening and a lost index', async () => {
    const { dir, remove } = makeTmpDir()
    cleanups.push(remove)
    nextSeq = 1
    let h = await open(dir)
    // Several commits; tile (3, 4) written across commits and twice within one commit.
    await h.append('b', [rec(3, 4, 1), rec(5, 5, 2), rec(3, 4, 3)])
    await h.append('b', [rec(100, 200, 4), rec(3, 4, 5, 'v')])
    await h.append('b', [rec(3, 4, 6), rec(70, 4, 7), rec(3, 4, 8)])
    // Another board's records must not join this board's chains.
    await h.append('other', [{ ...rec(3, 4, 9), seq: 1 }])
    const expected = await byScan(h, 3, 4)
    expect(expected.map((r) => r.color)).toEqual([8, 6, 5, 3, 1])
    expect(await h.tileHistory('b', 3, 4, 10)).toEqual(expected)
    expect(await h.tileHistory('b', 3, 4, 2)).toEqual(expected.slice(0, 2))
    expect(await h.tileHistory('b', 3, 4, 2, expected[1]?.seq)).toEqual(expected.slice(2, 4))
    expect(await h.tileLatest('b', 3, 4)).toEqual(expected[0])
    expect(await h.tileLatest('b', 9, 9)).toBeNull()
    expect((await h.tileLatest('other', 3, 4))?.color).toBe(9)
    await h.close()

    // Reopened: the chunks written at close answer at once.
    h = await open(dir)
    expect(await h.tileHistory('b', 3, 4, 10)).toEqual(expected)
    await h.append('b', [rec(3, 4, 10)])
    expect((await h.tileHistory('b', 3, 4, 10)).map((r) => r.color)).toEqual([10, 8, 6, 5, 3, 1])
    await h.close()

    // Chunks and their seq lost (or never written, as after kill -9 before a flush): rebuilt
    // from the records themselves.
    const raw = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
    await raw.open()
    const doomed: Uint8Array[] = []
    for await (const key of raw.keys())
      if (key[0] === 8 || (key[0] === 3 && new TextDecoder().decode(key).endsWith('indexSeq'))) doomed.push(key)
    expect(doomed.length).toBeGreaterThan(1)
    await raw.batch(doomed.map((key) => ({ type: 'del' as const, key })))
    await raw.close()
    h = await open(dir)
    cleanups.push(() => h.close())
    expect((await h.tileHistory('b', 3, 4, 10)).map((r) => r.color)).toEqual([10, 8, 6, 5, 3, 1])
    expect((await h.tileLatest('b', 70, 4))?.color).toBe(7)
    expect((await h.tileLatest('b', 100, 200))?.color).toBe(4)
  })
})

describe('record blocks', () => {
  it('splits a large commit into blocks and reads any seq, forwards, backwards and by tile', async () => {
    const { dir, remove } = makeTmpDir()
    cleanups.push(remove)
    nextSeq = 1
    const h = await open(dir)
    cleanups.push(() => h.close())
    // One commit of 2.5 blocks, then small commits: block edges fall inside and between commits.
    const big = Array.from({ length: MAX_BLOCK_RECORDS * 2 + MAX_BLOCK_RECORDS / 2 }, (_, i) => rec(i % 97, 7, i % 16, `u${i % 5}`))
    await h.append('b', big)
    const small = [rec(1, 7, 3), rec(2, 2, 4)]
    await h.append('b', small)
    await h.append('b', [rec(1, 7, 5)])
    const all = [...big, ...small, nextSeq - 1].length
    expect(await h.lastSeq('b')).toBe(all)
    expect(await h.lastSeq('none')).toBe(0)

    const forward: number[] = []
    for await (const r of h.readAfter('b', 0)) forward.push(r.seq)
    expect(forward).toEqual(Array.from({ length: all }, (_, i) => i + 1))
    for (const after of [MAX_BLOCK_RECORDS - 1, MAX_BLOCK_RECORDS, MAX_BLOCK_RECORDS + 1, all - 1, all, all + 5]) {
      const seqs: number[] = []
      for await (const r of h.readAfter('b', after)) seqs.push(r.seq)
      expect(seqs).toEqual(forward.filter((s) => s > after))
    }
    const backward: number[] = []
    for await (const r of h.readBackwards('b')) backward.push(r.seq)
    expect(backward).toEqual([...forward].reverse())

    const wanted = [all, 1, MAX_BLOCK_RECORDS, MAX_BLOCK_RECORDS + 1, 2 * MAX_BLOCK_RECORDS + 3, 5, all + 1]
    const got = await h.getRecords('b', wanted)
    expect(got.map((r) => r?.seq)).toEqual([all, 1, MAX_BLOCK_RECORDS, MAX_BLOCK_RECORDS + 1, 2 * MAX_BLOCK_RECORDS + 3, 5, undefined])
    expect(got[1]).toEqual(big[0])
    expect(got[3]).toEqual(big[MAX_BLOCK_RECORDS])

    // Tile (1, 7)'s chain crosses every block.
    expect(await h.tileHistory('b', 1, 7, 1_000)).toEqual(await byScan(h, 1, 7))
    expect((await h.tileLatest('b', 1, 7))?.color).toBe(5)

    // A chain across more blocks than the reader keeps: 80 small commits, each touching (9, 9).
    for (let i = 0; i < 80; i++) await h.append('b', [rec(i, 100, 1), rec(9, 9, i % 16), rec(i, 101, 2)])
    const chain = await byScan(h, 9, 9)
    expect(chain.length).toBe(80)
    expect(await h.tileHistory('b', 9, 9, 1_000)).toEqual(chain)
    expect(await h.tileHistory('b', 9, 9, 5, chain[40]?.seq)).toEqual(chain.slice(41, 46))
  })

  it('refuses records whose seqs are not consecutive, and writes nothing', async () => {
    const { dir, remove } = makeTmpDir()
    cleanups.push(remove)
    const h = await open(dir)
    cleanups.push(() => h.close())
    nextSeq = 1
    const a = rec(1, 1, 1)
    nextSeq += 1
    await expect(h.append('b', [a, rec(2, 2, 2)])).rejects.toThrow(/consecutive/)
    expect(await h.lastSeq('b')).toBe(0)
  })

  it('converts records stored one key each (the earlier layout) into blocks on open', async () => {
    const { dir, remove } = makeTmpDir()
    cleanups.push(remove)
    // The earlier layout: 0x01 board 0x00 seq(u64 BE) -> fields, then the previous seq on the tile
    // (absent in the oldest records).
    const raw = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
    await raw.open()
    const legacy: PlacementRecord[] = []
    const put = async (board: string, r: PlacementRecord, prevSeq: number | null) => {
      const id = new TextEncoder().encode(board)
      const key = new Uint8Array(id.length + 10)
      key[0] = 1
      key.set(id, 1)
      new DataView(key.buffer).setUint32(id.length + 6, r.seq)
      const enc = encoding.createEncoder()
      for (const n of [r.x, r.y, r.color, r.placedAt]) encoding.writeVarUint(enc, n)
      encoding.writeVarString(enc, r.user)
      encoding.writeVarUint(enc, r.kind)
      encoding.writeVarUint(enc, r.ref)
      if (prevSeq !== null) encoding.writeVarUint(enc, prevSeq)
      await raw.put(key, encoding.toUint8Array(enc))
    }
    // Board 'b': seqs 1..5000 (more than a block) with a gap after 5000 (6001..6003); board 'c': 1..2.
    for (let seq = 1; seq <= 5_000; seq++) legacy.push({ ...rec(seq % 10, 0, seq % 16), seq })
    for (let seq = 6_001; seq <= 6_003; seq++) legacy.push({ ...rec(seq % 10, 1, 1), seq })
    for (const r of legacy) await put('b', r, r.seq > 10 ? r.seq - 10 : r.seq === 1 ? null : 0)
    await put('c', { ...rec(4, 4, 2), seq: 1 }, null)
    await put('c', { ...rec(4, 4, 3), seq: 2 }, 1)
    await raw.close()

    const events: string[] = []
    let h = await openHistoryStore(dir, { sync: false, onConvert: (e) => events.push(e.phase === 'start' ? 'start' : `done ${e.records}`) })
    expect(events).toEqual(['start', 'done 5005'])
    const read: PlacementRecord[] = []
    for await (const r of h.readAfter('b', 0)) read.push(r)
    expect(read).toEqual(legacy)
    expect(await h.lastSeq('b')).toBe(6_003)
    expect((await h.tileHistory('c', 4, 4, 10)).map((r) => r.color)).toEqual([3, 2])
    expect((await h.tileHistory('b', 3, 0, 3)).map((r) => r.seq)).toEqual([4_993, 4_983, 4_973])
    await h.close()

    // Nothing is left in the earlier layout, and a second open finds the same records.
    const check = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
    await check.open()
    let left = 0
    for await (const _ of check.keys({ gte: Uint8Array.of(1), lt: Uint8Array.of(2) })) left += 1
    await check.close()
    expect(left).toBe(0)
    h = await openHistoryStore(dir, { sync: false, onConvert: (e) => events.push(e.phase) })
    cleanups.push(() => h.close())
    expect(events).toHaveLength(2)
    const again: PlacementRecord[] = []
    for await (const r of h.readAfter('b', 0)) again.push(r)
    expect(again).toEqual(legacy)
  })
})

describe('rollback marks and the operation journal', () => {
  it('writes marks with a commit, idempotently, and removes only its own id', async () => {
    const tmp = makeTmpDir()
    cleanups.push(tmp.remove)
    const h = await open(tmp.dir)
    cleanups.push(() => h.close())
    const records = [rec(1, 1, 1), rec(1, 1, 2), rec(2, 2, 3)]
    const [a, b, c] = records.map((r) => r.seq) as [number, number, number]
    await h.append('b', records, {}, undefined, { marks: { id: 1, add: [a, b], remove: [] }, operations: { 'rollback:1': { n: 1 } } })
    // Again (a resumed chunk), and a second rollback on one of them.
    await h.append('b', [], {}, undefined, { marks: { id: 1, add: [a], remove: [] } })
    await h.append('b', [], {}, undefined, { marks: { id: 2, add: [b, c], remove: [] } })
    expect(await h.marksOf('b', [a, b, c])).toEqual([[1], [1, 2], [2]])
    expect(await h.membersOf('b', 1)).toEqual([a, b])
    expect(await h.readOperations()).toEqual([{ board: 'b', name: 'rollback:1', value: { n: 1 } }])
    // Undo of 1: b stays rolled back by 2.
    await h.append('b', [], {}, undefined, { marks: { id: 1, add: [], remove: [a, b] } })
    expect(await h.marksOf('b', [a, b, c])).toEqual([[], [2], [2]])
    expect([...(await h.rolledBackOf('b', [a, b, c]))]).toEqual([b, c])
    expect(await h.membersOf('b', 1)).toEqual([])
    // Finishing deletes the journal entry and writes the audit entry together.
    const entry = await h.finishOperation('b', 'rollback:1', {
      at: 5,
      actor: 'admin',
      action: 'rollback',
      board: 'b',
      tiles: 1,
      details: {},
    })
    expect(await h.readOperations()).toEqual([])
    expect(await h.readAudit(10)).toEqual([entry])
    expect((await h.appendAudit({ at: 6, actor: 'admin', action: 'ban', board: null, tiles: 0, details: {} })).seq).toBe(entry.seq + 1)
  })
})
