/**
 * A data folder of the earlier layout (the board document in y-leveldb's own database,
 * DATA_DIR/doc, and the updates of the last commits kept in the history under 0x09) opens into
 * the one-database layout: the relay serves the same board, with the very items its clients
 * received, and DATA_DIR/doc is renamed to DATA_DIR/doc.migrated. The earlier layout is made
 * here from a relay's own data: its stored updates moved into DATA_DIR/doc with stock
 * y-leveldb's storeUpdate (as the earlier relay wrote them) and the last few into kept-update keys.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, expect, it } from 'vitest'
import { LeveldbPersistence } from 'y-leveldb'
import * as Y from 'yjs'
import { readDocUpdates } from '../../relay/doc-updates.ts'
import { type BatchOp, boardPrefix, docStateVectorKey, docUpdateKey, Prefix, seqKey } from '../../relay/history-keys.ts'
import type { Room } from '../../relay/room.ts'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { connectProvider } from '../helpers/clients.ts'
import { startTestRelay } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const cleanups: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const env = { BOARD_COOLDOWN_MS: '0', BOARD_WIDTH: '64', BOARD_HEIGHT: '64' }
const who = { user: 'u1', ip: '127.0.0.1', isAdmin: false }

/** Rewrites a stopped relay's folder into the earlier layout; returns how many updates went to each place. */
const toEarlierLayout = async (dataDir: string, board: string, keptCount: number) => {
  const history = new ClassicLevel<Uint8Array, Uint8Array>(join(dataDir, 'history'), { keyEncoding: 'view', valueEncoding: 'view' })
  await history.open()
  const stored: { clock: number; bytes: Uint8Array }[] = []
  for await (const u of readDocUpdates(history, board)) stored.push({ clock: u.clock, bytes: u.bytes.slice() })
  const ops: BatchOp[] = stored.map((u) => ({ type: 'del', key: docUpdateKey(board, u.clock) }))
  ops.push({ type: 'del', key: docStateVectorKey(board) })
  const kept = stored.slice(stored.length - keptCount)
  kept.forEach((u, i) => {
    ops.push({ type: 'put', key: seqKey(boardPrefix(Prefix.LegacyDocUpdate, board), 100 + i), value: u.bytes })
  })
  await history.batch(ops)
  await history.close()
  const doc = new LeveldbPersistence(join(dataDir, 'doc'))
  for (const u of stored.slice(0, stored.length - keptCount)) await doc.storeUpdate(board, u.bytes)
  await doc.destroy()
  return { inDoc: stored.length - keptCount, kept: kept.length }
}

it('opens a data folder of the earlier layout with the same document, and moves DATA_DIR/doc aside', async () => {
  const tmp = makeTmpDir()
  cleanups.push(tmp.remove)
  const first = await startTestRelay({ dataDir: tmp.dir, env })
  cleanups.push(() => first.close())
  const watcher = await connectProvider(first.wsBase)
  cleanups.push(watcher.close)
  const room = first.rooms.get('main') as Room
  // One commit each: enough stored updates to keep some and copy the rest.
  for (let i = 0; i < 30; i++) expect((await room.place({ x: i, y: 2, color: (i % 15) + 1 }, who)).ok).toBe(true)
  await waitFor(() => readBoardBitmap(watcher.doc, 64, 64)[2 * 64 + 29] === (29 % 15) + 1, { what: 'the watcher saw every commit' })
  watcher.provider.disconnect()
  await first.close()

  const moved = await toEarlierLayout(tmp.dir, 'main', 5)
  expect(moved.inDoc).toBeGreaterThan(5)
  expect(existsSync(join(tmp.dir, 'doc'))).toBe(true)

  const second = await startTestRelay({ dataDir: tmp.dir, env })
  cleanups.push(() => second.close())
  expect(existsSync(join(tmp.dir, 'doc'))).toBe(false)
  expect(existsSync(join(tmp.dir, 'doc.migrated'))).toBe(true)
  const reopened = second.rooms.get('main') as Room
  // The very items the watcher received, not equivalent new ones: it holds nothing the relay lacks.
  expect(reopened.hasForeignContent(Y.encodeStateAsUpdate(watcher.doc))).toBe(false)
  expect(Buffer.compare(reopened.bitmap(), readBoardBitmap(watcher.doc, 64, 64))).toBe(0)
  // And it goes on: a placement after the move, then a restart, keeps both.
  expect((await reopened.place({ x: 40, y: 40, color: 7 }, who)).ok).toBe(true)
  await second.close()
  const third = await startTestRelay({ dataDir: tmp.dir, env })
  cleanups.push(() => third.close())
  const fresh = await connectProvider(third.wsBase)
  cleanups.push(fresh.close)
  const board = readBoardBitmap(fresh.doc, 64, 64)
  expect(board[40 * 64 + 40]).toBe(7)
  for (let i = 0; i < 30; i++) expect(board[2 * 64 + i]).toBe((i % 15) + 1)
})
