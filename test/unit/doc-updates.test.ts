/**
 * The board documents in the history database (relay/doc-updates.ts): updates stored one a
 * commit load as the same document, compaction replaces them with the state in one batch, stock
 * y-leveldb (public API only) reads the document from the history folder, and a data folder of
 * the earlier layout (y-leveldb in DATA_DIR/doc, recent updates kept in the history) is moved
 * into the history at open (relay/doc-migration.ts). Real LevelDB in temporary directories.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import * as encoding from 'lib0/encoding'
import { afterEach, describe, expect, it } from 'vitest'
import { LeveldbPersistence } from 'y-leveldb'
import * as Y from 'yjs'
import { COMPACT_EVERY } from '../../relay/doc-updates.ts'
import { boardPrefix, nameKey, Prefix, seqKey } from '../../relay/history-keys.ts'
import { type HistoryStore, openHistoryStore } from '../../relay/history-store.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** Updates that set keys one at a time on a writer document (an overwrite each, after the first 7). */
const writes = (n: number) => {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  for (let i = 0; i < n; i++) doc.getMap('tiles').set(String(i % 7), i)
  return { doc, updates }
}

const tiles = (doc: Y.Doc) => doc.getMap('tiles').toJSON()

/** Stores each update as a commit does: the room's loaded doc takes it, then one append with its writes. */
const storeAll = async (h: HistoryStore, board: string, updates: readonly Uint8Array[]) => {
  const doc = await h.loadDoc(board)
  for (const u of updates) {
    Y.applyUpdate(doc, u)
    await h.append(board, [], {}, h.docWrites(board, u, doc))
  }
  return doc
}

const rawKeys = async (dir: string, first: number) => {
  const raw = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await raw.open()
  let n = 0
  for await (const _ of raw.keys({ gte: new Uint8Array([first]), lt: new Uint8Array([first + 1]) })) n += 1
  await raw.close()
  return n
}

describe('board documents in the history', () => {
  it('loads what was stored one update a commit, and compaction bounds the stored updates', async () => {
    const { dir, remove } = makeTmpDir()
    cleanups.push(remove)
    const { doc, updates } = writes(COMPACT_EVERY * 2 + 30)
    let h = await openHistoryStore(dir, { sync: false })
    // The first write of a board is its state (there is nothing before it), then an update a commit.
    await storeAll(h, 'b', updates.slice(0, 10))
    expect(await h.storedDocUpdates('b')).toBe(10)
    await storeAll(h, 'b', updates.slice(10))
    // Compacted twice on the way: the state plus the updates since, never more than COMPACT_EVERY.
    const stored = await h.storedDocUpdates('b')
    expect(stored).toBeGreaterThan(1)
    expect(stored).toBeLessThanOrEqual(COMPACT_EVERY)
    await h.close()

    h = await openHistoryStore(dir, { sync: false })
    cleanups.push(() => h.close())
    expect(tiles(await h.readDoc('b'))).toEqual(tiles(doc))
    expect(tiles(await h.loadDoc('b'))).toEqual(tiles(doc))
    // Another board in the same database is empty.
    expect((await h.readDoc('other')).getMap('tiles').size).toBe(0)
  })

  it('is read by stock y-leveldb from the history folder once the relay has stopped', async () => {
    const { dir, remove } = makeTmpDir()
    cleanups.push(remove)
    const { doc, updates } = writes(COMPACT_EVERY + 40)
    const h = await openHistoryStore(dir, { sync: false })
    await h.append('b', [], { docSeq: 3 })
    await storeAll(h, 'b', updates)
    await storeAll(h, 'c', writes(3).updates)
    await h.close()

    const stock = new LeveldbPersistence(dir)
    expect(tiles(await stock.getYDoc('b'))).toEqual(tiles(doc))
    // The state vector key (written with each state) is where y-leveldb lists its documents.
    expect((await stock.getAllDocNames()).sort()).toEqual(['b', 'c'])
    expect(Buffer.from(await stock.getStateVector('b')).equals(Buffer.from(Y.encodeStateVector(doc)))).toBe(true)
    await stock.destroy()

    // getStateVector rewrote the document its own way (the state under the next clock, the
    // older updates cleared): the relay's store goes on from there.
    const again = await openHistoryStore(dir, { sync: false })
    cleanups.push(() => again.close())
    const loaded = await again.loadDoc('b')
    expect(tiles(loaded)).toEqual(tiles(doc))
    loaded.getMap('tiles').set('after', 1)
    const update = Y.encodeStateAsUpdate(loaded, Y.encodeStateVector(doc))
    await again.append('b', [], {}, again.docWrites('b', update, loaded))
    expect((await again.readDoc('b')).getMap('tiles').toJSON()).toEqual({ ...tiles(doc), after: 1 })
  })

  it('moves the documents of the earlier layout (DATA_DIR/doc and kept updates) into the history, once', async () => {
    const { dir, remove } = makeTmpDir()
    cleanups.push(remove)
    const historyDir = join(dir, 'history')
    const docDir = join(dir, 'doc')
    const { doc, updates } = writes(50)
    const other = writes(5)
    // The earlier relay's DATA_DIR/doc: y-leveldb's storeUpdate of each flushed update (as
    // relay/doc-store.ts wrote it), here the first 40 of board b and all of board c.
    const old = new LeveldbPersistence(docDir)
    for (const u of updates.slice(0, 40)) await old.storeUpdate('b', u)
    for (const u of other.updates) await old.storeUpdate('c', u)
    await old.destroy()
    // And its history: updates 36..50 kept under 0x09 (36..40 flushed but not yet dropped), meta docUpdate.
    const raw = new ClassicLevel<Uint8Array, Uint8Array>(historyDir, { keyEncoding: 'view', valueEncoding: 'view' })
    await raw.open()
    const enc = encoding.createEncoder()
    encoding.writeVarUint(enc, 35)
    await raw.batch([
      ...updates
        .slice(35)
        .map((value, i) => ({ type: 'put' as const, key: seqKey(boardPrefix(Prefix.LegacyDocUpdate, 'b'), 36 + i), value })),
      { type: 'put', key: nameKey(boardPrefix(Prefix.Meta, 'b'), 'docUpdate'), value: encoding.toUint8Array(enc) },
    ])
    await raw.close()

    const migrations: { boards: number; movedTo: string | null }[] = []
    const open = () => openHistoryStore(historyDir, { sync: false, legacyDocDir: docDir, onDocMigration: (m) => migrations.push(m) })
    let h = await open()
    expect(migrations).toEqual([expect.objectContaining({ boards: 2, movedTo: `${docDir}.migrated` })])
    expect(existsSync(docDir)).toBe(false)
    expect(existsSync(`${docDir}.migrated`)).toBe(true)
    expect(tiles(await h.readDoc('b'))).toEqual(tiles(doc))
    expect(tiles(await h.readDoc('c'))).toEqual(tiles(other.doc))
    // One state each; the kept updates and the meta value that tracked them are gone.
    expect(await h.storedDocUpdates('b')).toBe(1)
    expect(await h.getMeta('b', 'docUpdate', -1)).toBe(-1)
    await h.close()
    expect(await rawKeys(historyDir, Prefix.LegacyDocUpdate)).toBe(0)

    // The next open has nothing to move, and a commit stores after the moved state.
    h = await open()
    cleanups.push(() => h.close())
    expect(migrations).toHaveLength(1)
    const loaded = await h.loadDoc('b')
    loaded.getMap('tiles').set('x', 1)
    await h.append('b', [], {}, h.docWrites('b', Y.encodeStateAsUpdate(loaded), loaded))
    expect(await h.storedDocUpdates('b')).toBe(2)
    expect((await h.readDoc('b')).getMap('tiles').get('x')).toBe(1)
  })
})
