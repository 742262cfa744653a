/**
 * live=tiles sockets resuming with `since` against a real relay: exact catch-up from cursor + 1,
 * live frames held back until the catch-up is sent, since=0, full sync when too far behind or
 * ahead, 1001 when history cannot be read, 4400 for a bad `since`. Every view is checked against
 * the relay's own board.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DocConfig } from '../../shared/doc-schema.ts'
import { CloseCode, MAX_RESUME_TILES } from '../../shared/protocol.ts'
import { decodeTileValue } from '../../shared/tile-codec.ts'
import type { BoardBitmap } from '../../shared/update-reader.ts'
import { adminCall } from '../helpers/admin.ts'
import { newSession, openRaw } from '../helpers/clients.ts'
import {
  emptyBoard,
  framesOf,
  liveTilesEnv,
  liveTilesRig,
  randomTiles,
  SyncType,
  tilesFrames,
  tilesView,
  varUintBytes,
} from '../helpers/live-tiles-rig.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'test-admin-token-live-tiles-resume'

let relay: TestRelay
let token: string
const { lastSeq, caughtUp, syncedTiles, placer } = liveTilesRig(
  () => relay,
  () => token,
)
beforeAll(async () => {
  relay = await startTestRelay({
    env: liveTilesEnv(ADMIN),
    boards: [
      { id: 'resume', width: 64, height: 64, shardSize: 16, cooldownMs: 0 },
      { id: 'far', width: 512, height: 512, shardSize: 64, cooldownMs: 0 },
    ],
  })
  token = (await newSession(relay.url)).token
})
afterAll(async () => {
  await relay.stop()
})

describe('resume with since', () => {
  it('sends exactly the missed writes from cursor + 1, then live frames without a gap', async () => {
    const first = await syncedTiles('resume')
    const p = await placer('resume')
    expect((await p.placeAll(randomTiles(20, 64, 64, 4))).every((r) => r.ok)).toBe(true)
    await caughtUp(first, 'resume')
    const held = { board: first.board() as BoardBitmap, cursor: first.cursor() as number }
    first.sock.close()

    // Missed while away: one at a time, so their order (and seqs) is known.
    const watcher = await syncedTiles('resume')
    const missed = randomTiles(25, 64, 64, 5)
    for (const t of missed) expect(await p.placeAll([t])).toMatchObject([{ ok: true }])
    // Every missed commit broadcast before the resume: a busy relay's fan-out may hold a commit's
    // broadcast (up to 100 ms, relay/fan-out.ts) after it is acknowledged, and a socket resuming
    // meanwhile gets it after its catch-up, overlapping it (the far-behind test below allows that).
    await caughtUp(watcher, 'resume')
    watcher.sock.close()
    const since = held.cursor
    const sock = await openRaw(`${relay.wsBase}/resume?live=tiles&since=${since}`)
    const view = tilesView(sock, held)
    await waitFor(() => view.pump().cursor() === since + missed.length, { what: 'catch-up' })
    const frames = framesOf(sock)
    // No sync answer: Config, then one Tiles frame holding the missed writes.
    expect(frames.some((f) => f.kind === 'sync')).toBe(false)
    const catchUp = tilesFrames(sock)
    expect(catchUp).toHaveLength(1)
    expect(catchUp[0]?.firstSeq).toBe(since + 1)
    expect([...(catchUp[0]?.values ?? [])].map(decodeTileValue)).toEqual(missed)
    expect(frames.findIndex((f) => f.kind === 'config')).toBeLessThan(frames.findIndex((f) => f.kind === 'tiles'))
    await caughtUp(view, 'resume')

    // Live frames continue after the catch-up.
    const more = randomTiles(10, 64, 64, 6)
    for (const t of more) expect(await p.placeAll([t])).toMatchObject([{ ok: true }])
    await caughtUp(view, 'resume')
    expect(tilesFrames(sock)[1]?.firstSeq).toBe(since + missed.length + 1)
    expect(view.applied).toEqual(Array.from({ length: missed.length + more.length }, (_, i) => since + 1 + i))

    // Resuming at the last seq: nothing missed, an empty Tiles frame (a cursor) and no sync.
    const last = await lastSeq('resume')
    const current = await openRaw(`${relay.wsBase}/resume?live=tiles&since=${last}`)
    await waitFor(() => tilesFrames(current).length === 1, { what: 'empty catch-up' })
    expect(tilesFrames(current)[0]).toMatchObject({ firstSeq: last + 1, values: new Uint32Array() })
    expect(framesOf(current).some((f) => f.kind === 'sync')).toBe(false)
    for (const s of [sock, current, p.sock]) s.close()
  })

  it('holds live frames back until the catch-up is sent while placements keep coming', async () => {
    const first = await syncedTiles('resume')
    await caughtUp(first, 'resume')
    const held = { board: first.board() as BoardBitmap, cursor: first.cursor() as number }
    first.sock.close()
    const p = await placer('resume')
    expect((await p.placeAll(randomTiles(40, 64, 64, 7))).every((r) => r.ok)).toBe(true)

    // Placements in flight from another socket while the resuming socket connects and reads history.
    const stream = (async () => {
      for (let i = 0; i < 15; i++) expect((await p.placeAll(randomTiles(8, 64, 64, 100 + i))).every((r) => r.ok)).toBe(true)
    })()
    const sock = await openRaw(`${relay.wsBase}/resume?live=tiles&since=${held.cursor}`)
    const view = tilesView(sock, held)
    await stream
    await caughtUp(view, 'resume')
    // The catch-up comes right after Config (everything else waited for it), from the cursor held.
    const frames = framesOf(sock)
    expect(frames[frames.findIndex((f) => f.kind === 'config') + 1]).toMatchObject({ kind: 'tiles', firstSeq: held.cursor + 1 })
    expect(view.applied).toEqual(Array.from({ length: (await lastSeq('resume')) - held.cursor }, (_, i) => held.cursor + 1 + i))
    sock.close()
    p.sock.close()
  })

  it('since=0 replays every write of the board onto an empty bitmap', async () => {
    const sock = await openRaw(`${relay.wsBase}/resume?live=tiles&since=0`)
    const view = tilesView(sock)
    await waitFor(() => view.pump().config() !== null)
    const start = { board: emptyBoard(view.config() as DocConfig), cursor: 0 }
    const replay = tilesView(sock, start)
    await caughtUp(replay, 'resume')
    expect(tilesFrames(sock)[0]?.firstSeq).toBe(1)
    expect(tilesFrames(sock)[0]?.values.length).toBe(await lastSeq('resume'))
    sock.close()
  })

  it('answers a since beyond the last seq with a full sync step 2 and the cursor', async () => {
    const sock = await openRaw(`${relay.wsBase}/resume?live=tiles&since=${10 ** 9}`)
    const view = tilesView(sock)
    await caughtUp(view, 'resume')
    const frames = framesOf(sock).filter((f) => f.kind !== 'other')
    // The full-state answer is shared (relay/sync-answers.ts): encoded once, then followed by the
    // commits made since, as live sockets received them. Together they end at the last seq.
    expect(frames.slice(0, 3).map((f) => f.kind)).toEqual(['config', 'sync', 'tiles'])
    expect(frames[1]).toMatchObject({ syncType: SyncType.Step2 })
    expect(frames[2]).toMatchObject({ values: new Uint32Array() })
    let next = (frames[2] as { firstSeq: number }).firstSeq
    for (const f of frames.slice(3)) {
      expect(f).toMatchObject({ kind: 'tiles', firstSeq: next })
      next += (f as { values: Uint32Array }).values.length
    }
    expect(next).toBe((await lastSeq('resume')) + 1)
    sock.close()
  })

  it(`answers from history up to ${MAX_RESUME_TILES} writes behind, with a full sync beyond`, async () => {
    // One admin fill of 512 x 512 tiles: 262,144 history seqs (also the regression test for
    // fills beyond the engine's argument limit, which room.write once spread into push()).
    const fill = await adminCall(relay.url, ADMIN, 'POST', '/boards/far/fill', { x: 0, y: 0, w: 512, h: 512, color: 7 })
    expect(fill.status).toBe(200)
    const p = await placer('far')
    expect(await p.placeAll([{ x: 1, y: 2, color: 3 }])).toMatchObject([{ ok: true }])
    const last = await lastSeq('far')
    expect(last).toBe(512 * 512 + 1)
    const edge = last - MAX_RESUME_TILES

    // Exactly MAX_RESUME_TILES behind: one Tiles frame from history. Painted onto a board that
    // held everything up to `edge` (the fill; `edge` < 512 * 512), it gives the relay's board.
    const near = await openRaw(`${relay.wsBase}/far?live=tiles&since=${edge}`)
    const nearView = tilesView(near, { board: { bitmap: new Uint8Array(512 * 512).fill(7), width: 512, height: 512 }, cursor: edge })
    await caughtUp(nearView, 'far')
    // The catch-up first. The placement's own broadcast may follow it (a fill this large makes
    // the fan-out space its next broadcast: relay/fan-out.ts); it overlaps, never passes `last`.
    const overlapOnly = (frames: ReturnType<typeof tilesFrames>) =>
      frames.every((f) => f.values.length === 0 || f.firstSeq + f.values.length - 1 <= last)
    expect(overlapOnly(tilesFrames(near).slice(1))).toBe(true)
    expect(tilesFrames(near)[0]).toMatchObject({ firstSeq: edge + 1, bytes: 1 + varUintBytes(edge + 1) + 3 + 4 * MAX_RESUME_TILES })
    expect(framesOf(near).some((f) => f.kind === 'sync')).toBe(false)

    // One further behind: the whole board instead.
    const far = await openRaw(`${relay.wsBase}/far?live=tiles&since=${edge - 1}`)
    const farView = tilesView(far)
    await caughtUp(farView, 'far')
    expect(framesOf(far).some((f) => f.kind === 'sync' && f.syncType === SyncType.Step2)).toBe(true)
    expect(tilesFrames(far)[0]).toEqual(expect.objectContaining({ firstSeq: last + 1, values: new Uint32Array() }))
    expect(overlapOnly(tilesFrames(far).slice(1))).toBe(true)
    for (const s of [near, far, p.sock]) s.close()
  })

  it('closes a resuming socket with 1001 unavailable when history cannot be read', async () => {
    // A write after every earlier resume: the shared window of history read so far
    // (relay/resume-reader.ts) lacks it, so this resume must read history.
    const p = await placer('resume')
    expect(await p.placeAll([{ x: 3, y: 3, color: 9 }])).toMatchObject([{ ok: true }])
    p.sock.close()
    const history = relay.stores.history
    const readAfter = history.readAfter
    history.readAfter = async function* () {
      history.readAfter = readAfter
      yield* []
      throw new Error('injected history read failure')
    }
    try {
      const sock = await openRaw(`${relay.wsBase}/resume?live=tiles&since=1`)
      expect(await waitFor(() => sock.closed(), { what: 'close' })).toEqual({ code: CloseCode.GoingAway, reason: 'unavailable' })
      expect(sock.errors().map((e) => e.code)).toEqual(['unavailable'])
      expect(tilesFrames(sock)).toEqual([])
    } finally {
      history.readAfter = readAfter
    }
    // The next resume reads history again.
    const again = await openRaw(`${relay.wsBase}/resume?live=tiles&since=${await lastSeq('resume')}`)
    await waitFor(() => tilesFrames(again).length === 1, { what: 'catch-up after the failure' })
    again.close()
  })

  it('closes a since that is not a decimal seq, a since without live=tiles, or an unknown live mode, with 4400', async () => {
    const cases: [string, boolean][] = [
      ['live=tiles&since=abc', true],
      ['live=tiles&since=', true],
      ['live=tiles&since=-1', true],
      ['live=tiles&since=1.5', true],
      ['live=tiles&since=1e3', true],
      [`live=tiles&since=${'9'.repeat(16)}`, true],
      ['since=5', false],
      ['live=yjs&since=5', false],
      ['tessera=1&since=5', true],
      ['live=tile', false],
      ['live=', false],
      ['live=TILES&tessera=1', true],
    ]
    for (const [query, tessera] of cases) {
      const sock = await openRaw(`${relay.wsBase}/resume?${query}`)
      const closed = await waitFor(() => sock.closed(), { what: `close of ${query}` })
      expect(closed, query).toEqual({ code: CloseCode.Malformed, reason: 'malformed' })
      // tessera=1 sockets (live=tiles implies it) get the reason as an Error frame first.
      expect(
        sock.errors().map((e) => e.code),
        query,
      ).toEqual(tessera ? ['malformed'] : [])
      expect(tilesFrames(sock), query).toEqual([])
    }
  })
})
