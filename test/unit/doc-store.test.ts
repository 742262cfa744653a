/**
 * The document store (y-leveldb behind relay/doc-store.ts): updates stored one by one load as
 * the same document, compaction replaces them with one state update, and with `sync` (the
 * relay's SYNC_WRITES) every store is followed by an fsynced write in the same database.
 * Real LevelDB in a temporary directory; a power loss itself cannot be simulated here.
 */
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { openDocStore } from '../../relay/doc-store.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** Updates that set tiles one at a time on a fresh writer document. */
const writes = (n: number) => {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  for (let i = 0; i < n; i++) doc.getMap('tiles').set(String(i % 7), i)
  return { doc, updates }
}

describe('document store', () => {
  for (const sync of [false, true]) {
    it(`loads what was stored, before and after compaction (sync ${sync})`, async () => {
      const { dir, remove } = makeTmpDir()
      cleanups.push(remove)
      const { doc, updates } = writes(20)
      let store = openDocStore(dir, { sync })
      for (const u of updates.slice(0, 10)) expect(await store.storeUpdate('b', u)).toBe(true)
      expect(await store.storedUpdates('b')).toBe(10)
      // Compact with the state after the first 10 updates, then store the rest.
      const partial = new Y.Doc()
      for (const u of updates.slice(0, 10)) Y.applyUpdate(partial, u)
      expect(await store.replaceWith('b', Y.encodeStateAsUpdate(partial))).toBe(true)
      expect(await store.storedUpdates('b')).toBe(1)
      for (const u of updates.slice(10)) expect(await store.storeUpdate('b', u)).toBe(true)
      await store.close()

      store = openDocStore(dir, { sync })
      cleanups.push(() => store.close())
      const loaded = await store.getYDoc('b')
      expect(loaded.getMap('tiles').toJSON()).toEqual(doc.getMap('tiles').toJSON())
      expect(await store.storedUpdates('b')).toBe(11)
      // Another document in the same database is empty (the sync key belongs to none).
      expect((await store.getYDoc('other')).getMap('tiles').size).toBe(0)
      await store.close()

      // The synced write is there exactly when asked for (its fsync itself is not observable here).
      const raw = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
      await raw.open()
      let syncKeys = 0
      for await (const key of raw.keys()) if (Buffer.from(key).includes('synced')) syncKeys += 1
      await raw.close()
      expect(syncKeys).toBe(sync ? 1 : 0)
      store = openDocStore(dir, { sync })
    })
  }
})
