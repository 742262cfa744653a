/**
 * Large admin operations (fill, rollback, undo) against real relays: kill -9 of a child relay in
 * the middle of one, then a restart on the same data, finishes it with one audit entry; and
 * placements keep being acknowledged while one runs, those on its tiles winning.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { adminCall } from '../helpers/admin.ts'
import { startChildRelay } from '../helpers/child-relay.ts'
import { connectProvider, newSession, placeHttp } from '../helpers/clients.ts'
import { startTestRelay } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** 102,400 tiles: with 500-tile chunks an operation is 205 chunks, so a kill lands mid-way. */
const SIDE = 320
const board = { id: 'main', width: SIDE, height: SIDE, cooldownMs: 0, shardSize: 64 }
const ADMIN = 'admin-operations-test-token'
const env = { ADMIN_TOKEN: ADMIN, ADMIN_CHUNK_TILES: '500', MESSAGES_PER_SECOND: '100000', MESSAGE_BURST: '100000' }

type HistoryEntry = { seq: number; color: number; user: string; rolledBack: boolean }
const tileHistory = async (url: string, x: number, y: number): Promise<HistoryEntry[]> =>
  ((await (await fetch(`${url}/api/boards/main/tiles/${x}/${y}/history?limit=100`)).json()) as { placements: HistoryEntry[] }).placements
type Audit = { seq: number; action: string; actor: string; tiles: number; details: Record<string, unknown> }
const auditOf = async (url: string): Promise<Audit[]> => (await adminCall(url, ADMIN, 'GET', '/audit?limit=1000')).body.entries as Audit[]

describe('kill -9 during a large admin operation', () => {
  it('a restart finishes the fill, the rollback and its undo, with one audit entry each and a history that agrees with the board', async () => {
    const tmp = makeTmpDir()
    cleanups.push(tmp.remove)
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ boards: [board] }))
    let relay = await startChildRelay(tmp.dir, env)
    cleanups.push(() => {
      relay.child.kill('SIGKILL')
    })
    // The placements a rollback of the admin's writes must bring back.
    const { token, user } = await newSession(relay.url)
    const placed = new Map<number, number>()
    for (let i = 0; i < 60; i++) {
      const x = (i * 37) % SIDE
      const y = (i * 91) % SIDE
      const color = (i % 14) + 1
      expect((await placeHttp(relay.url, token, { x, y, color })).status).toBe(200)
      placed.set(y * SIDE + x, color)
    }
    const restart = async () => {
      relay.child.kill('SIGKILL')
      await relay.exited
      relay = await startChildRelay(tmp.dir, env)
    }

    // 1. A fill of the whole board, killed once its first chunk is on the board.
    void adminCall(relay.url, ADMIN, 'POST', '/boards/main/fill', { x: 0, y: 0, w: SIDE, h: SIDE, color: 15 }).catch(() => null)
    await waitFor(async () => (await tileHistory(relay.url, 0, 0))[0]?.user === '@admin', { timeoutMs: 30_000, what: 'the fill begins' })
    await restart()
    const fill = await waitFor(
      async () => {
        const entries = (await auditOf(relay.url)).filter((e) => e.action === 'fill')
        return entries.length > 0 ? entries : null
      },
      { timeoutMs: 60_000, what: 'the resumed fill' },
    )
    expect(fill).toHaveLength(1)
    expect(fill[0]).toMatchObject({ actor: 'admin', details: { x: 0, y: 0, w: SIDE, h: SIDE, color: 15, resumed: true } })
    const filled = await connectProvider(relay.wsBase)
    expect(readBoardBitmap(filled.doc, SIDE, SIDE).every((c) => c === 15)).toBe(true)
    filled.close()

    // 2. A rollback of the admin's writes, killed once its first chunk is committed (marks
    // visible in a tile's history): the admin never gets its answer.
    void adminCall(relay.url, ADMIN, 'POST', '/boards/main/rollback', { user: '@admin' }).catch(() => null)
    await waitFor(async () => (await tileHistory(relay.url, 0, 0))[0]?.rolledBack === true, {
      timeoutMs: 60_000,
      what: 'the rollback begins',
    })
    await restart()
    const rollbacks = await waitFor(
      async () => {
        const entries = (await auditOf(relay.url)).filter((e) => e.action === 'rollback')
        return entries.length > 0 ? entries : null
      },
      { timeoutMs: 120_000, what: 'the resumed rollback' },
    )
    expect(rollbacks).toHaveLength(1)
    const entry = rollbacks[0] as Audit
    // The audit entry tells the admin the id of the rollback whose answer was lost.
    expect(entry.details).toMatchObject({ user: '@admin', rollback: 1, placements: SIDE * SIDE, resumed: true })
    // Every tile changed: the fill covered the placements too.
    expect(entry.tiles).toBe(SIDE * SIDE)

    const viewer = await connectProvider(relay.wsBase)
    cleanups.push(viewer.close)
    const expected = new Uint8Array(SIDE * SIDE)
    for (const [cell, color] of placed) expected[cell] = color
    expect(Buffer.compare(readBoardBitmap(viewer.doc, SIDE, SIDE), expected)).toBe(0)
    // Each tile's history agrees with the board: the fill rolled back, the placement not, and
    // tile info names the placement shown (a sample of tiles, placed or not, first and last chunks).
    const sample = [...placed.keys()].slice(0, 20).concat([0, 1, SIDE * SIDE - 1, 160 * SIDE + 7])
    for (const cell of sample) {
      const x = cell % SIDE
      const y = Math.floor(cell / SIDE)
      const history = await tileHistory(relay.url, x, y)
      const fillEntry = history.find((h) => h.user === '@admin')
      expect(fillEntry?.rolledBack, `tile ${x},${y}`).toBe(true)
      const own = history.find((h) => h.user === user)
      if (placed.has(cell)) expect(own).toMatchObject({ color: placed.get(cell), rolledBack: false })
      const tile = (await (await fetch(`${relay.url}/api/boards/main/tiles/${x}/${y}`)).json()) as { color: number; user: string | null }
      expect(tile).toMatchObject(placed.has(cell) ? { color: placed.get(cell), user } : { color: 0, user: null })
    }

    // 3. Its undo (the resumed rollback is an ordinary one), killed mid-way too, brings the fill back.
    void adminCall(relay.url, ADMIN, 'POST', '/boards/main/rollbacks/1/undo').catch(() => null)
    await waitFor(async () => (await tileHistory(relay.url, 0, 0)).find((h) => h.user === '@admin')?.rolledBack === false, {
      timeoutMs: 60_000,
      what: 'the undo begins',
    })
    await restart()
    const undos = await waitFor(
      async () => {
        const entries = (await auditOf(relay.url)).filter((e) => e.action === 'undo-rollback')
        return entries.length > 0 ? entries : null
      },
      { timeoutMs: 120_000, what: 'the resumed undo' },
    )
    expect(undos).toHaveLength(1)
    expect(undos[0]?.details).toMatchObject({ rollback: 1, placements: SIDE * SIDE, resumed: true })
    const after = await connectProvider(relay.wsBase)
    cleanups.push(after.close)
    expect(readBoardBitmap(after.doc, SIDE, SIDE).every((c) => c === 15)).toBe(true)
    for (const cell of sample) {
      const history = await tileHistory(relay.url, cell % SIDE, Math.floor(cell / SIDE))
      expect(history.find((h) => h.user === '@admin')?.rolledBack).toBe(false)
    }
    expect((await adminCall(relay.url, ADMIN, 'POST', '/boards/main/rollbacks/1/undo')).status).toBe(404)
  }, 300_000)
})

describe('placements during a large rollback', () => {
  it('are acknowledged before it finishes, and one on a tile it restores later wins', async () => {
    const relay = await startTestRelay({ boards: [board], env })
    cleanups.push(relay.stop)
    const filled = await adminCall(relay.url, ADMIN, 'POST', '/boards/main/fill', { x: 0, y: 0, w: SIDE, h: SIDE, color: 9 })
    expect(filled.body).toMatchObject({ ok: true, tiles: SIDE * SIDE })
    const { token, user } = await newSession(relay.url)
    let finished = false
    const rollback = adminCall(relay.url, ADMIN, 'POST', '/boards/main/rollback', { user: '@admin' }).then((r) => {
      finished = true
      return r
    })
    // Once the rollback has begun (its first chunk is committed)...
    // As long as the kill -9 test allows: the rollback selects its placements before its first chunk.
    await waitFor(async () => (await tileHistory(relay.url, 0, 0))[0]?.rolledBack === true, {
      what: 'the rollback begins',
      timeoutMs: 60_000,
    })
    // The admin can see it in progress, with its id.
    const running = await adminCall(relay.url, ADMIN, 'GET', '/boards/main/operations')
    expect(running.body.operations).toMatchObject([{ name: 'rollback:1', kind: 'rollback', id: 1, filter: { user: '@admin' } }])
    // ...a placement on a tile of its last chunk, then more on other tiles while it runs.
    const last = { x: SIDE - 1, y: SIDE - 1, color: 4 }
    const first = await placeHttp(relay.url, token, last)
    expect(first.status).toBe(200)
    expect(finished).toBe(false)
    let during = 1
    for (let i = 0; !finished && i < SIDE; i++) {
      const r = await placeHttp(relay.url, token, { x: i, y: SIDE - 2, color: 3 })
      expect(r.status).toBe(200)
      if (!finished) during += 1
    }
    expect(during).toBeGreaterThan(1)
    const outcome = await rollback
    expect(outcome.body).toMatchObject({ ok: true, id: 1, placements: SIDE * SIDE })
    expect((await adminCall(relay.url, ADMIN, 'GET', '/boards/main/operations')).body.operations).toEqual([])

    // The placement made during the rollback keeps its tile; the fill under it is rolled back.
    const board_ = relay.rooms.get('main')?.bitmap() as Uint8Array
    expect(board_[last.y * SIDE + last.x]).toBe(last.color)
    expect(board_[0]).toBe(0)
    const history = await tileHistory(relay.url, last.x, last.y)
    expect(history.find((h) => h.user === user)).toMatchObject({ color: last.color, rolledBack: false })
    expect(history.find((h) => h.user === '@admin')).toMatchObject({ rolledBack: true })
    expect(await (await fetch(`${relay.url}/api/boards/main/tiles/${last.x}/${last.y}`)).json()).toMatchObject({ color: last.color, user })
    // Every placement acknowledged meanwhile shows.
    for (let i = 0; i < during - 1; i++) expect(board_[(SIDE - 2) * SIDE + i]).toBe(3)
  }, 120_000)
})
