/**
 * The history store's tile index: each tile's records as a chain from the latest (kept in
 * memory, written as chunks), the same after a reopen, and rebuilt from the records when the
 * chunks on disk are missing or behind. Real LevelDB in a temporary directory.
 */
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it } from 'vitest'
import { type HistoryStore, openHistoryStore, type PlacementRecord, RecordKind } from '../../relay/history-store.ts'
import { createTileIndex, MAX_INDEXED_SEQ } from '../../relay/tile-index.ts'
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
