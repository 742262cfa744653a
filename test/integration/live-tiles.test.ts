/**
 * live=tiles sockets against a real relay: the Config frame on connect, sync step 2 then the
 * cursor, Tiles frames numbered by history seq (contiguous, 4 bytes a placement, no Yjs updates),
 * Config frames on admin changes, rejected and failed writes that take no seq, and a commit's
 * broadcast and acknowledgements written together (relay/ws-frame.ts). Resuming with `since`:
 * live-tiles-resume.test.ts. Every view is checked against the relay's own board.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Room } from '../../relay/room.ts'
import { readBoardBitmap, readDocConfig } from '../../shared/doc-schema.ts'
import { readPlaceResult } from '../../shared/frames.ts'
import { MessageType } from '../../shared/protocol.ts'
import { decodeTileValue, encodeTileValue } from '../../shared/tile-codec.ts'
import { adminCall } from '../helpers/admin.ts'
import { sameBytes } from '../helpers/bytes.ts'
import { newSession, openRaw, placeHttp } from '../helpers/clients.ts'
import {
  body,
  configFrames,
  framesOf,
  liveTilesEnv,
  liveTilesRig,
  parseFrame,
  randomTiles,
  SyncType,
  syncStep1,
  tilesFrames,
  tilesView,
  varUintBytes,
  yjsUpdates,
} from '../helpers/live-tiles-rig.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'test-admin-token-live-tiles'

let relay: TestRelay
let token: string
const { roomOf, lastSeq, caughtUp, syncedTiles, placer } = liveTilesRig(
  () => relay,
  () => token,
)
beforeAll(async () => {
  relay = await startTestRelay({
    env: liveTilesEnv(ADMIN),
    boards: [
      { id: 'main', width: 96, height: 64, shardSize: 16, cooldownMs: 0 },
      { id: 'bytes', width: 64, height: 64, shardSize: 16, cooldownMs: 0 },
      { id: 'settings', width: 32, height: 32, shardSize: 16, cooldownMs: 0 },
      { id: 'reject', width: 32, height: 32, shardSize: 16, cooldownMs: 0 },
      { id: 'acks', width: 256, height: 128, shardSize: 32, cooldownMs: 0 },
    ],
  })
  token = (await newSession(relay.url)).token
})
afterAll(async () => {
  await relay.stop()
})

describe('live=tiles socket', () => {
  it('gets Config, then step 2 and the cursor, then Tiles frames (never Yjs updates) that match the board', async () => {
    const p = await placer('main')
    expect((await p.placeAll(randomTiles(30, 96, 64, 1))).every((r) => r.ok)).toBe(true)

    const sock = await openRaw(`${relay.wsBase}/main?live=tiles`)
    // tessera=1 is implied: Session and Presence, and the board's document config.
    await waitFor(() => configFrames(sock).length === 1, { what: 'Config frame' })
    expect(configFrames(sock)[0]).toEqual(roomOf('main').docConfig())
    expect(configFrames(sock)[0]).toMatchObject({ id: 'main', width: 96, height: 64, shardSize: 16, cooldownMs: 0, version: 1 })
    const types = sock.frames.map((f) => f[0])
    expect(types).toContain(MessageType.Session)
    expect(types).toContain(MessageType.Presence)
    expect(types).not.toContain(MessageType.Sync)

    sock.send(syncStep1())
    const view = tilesView(sock)
    await waitFor(() => view.pump().cursor() !== null, { what: 'cursor' })
    const frames = framesOf(sock)
    const step2 = frames.findIndex((f) => f.kind === 'sync' && f.syncType === SyncType.Step2)
    expect(step2).toBeGreaterThanOrEqual(0)
    // The cursor comes right after the answer: the last seq it holds + 1.
    expect(frames[step2 + 1]).toMatchObject({ kind: 'tiles', firstSeq: (await lastSeq('main')) + 1, values: new Uint32Array() })
    const cursor = view.cursor() as number
    expect(cursor).toBe(await lastSeq('main'))
    expect(sameBytes(view.board()?.bitmap as Uint8Array, roomOf('main').bitmap())).toBe(true)

    // A live=yjs socket on the same board, synced into a Y.Doc.
    const yjs = await openRaw(`${relay.wsBase}/main?live=yjs`)
    yjs.send(syncStep1())
    await waitFor(() => framesOf(yjs).some((f) => f.kind === 'sync' && f.syncType === SyncType.Step2), { what: 'yjs step 2' })
    const doc = new Y.Doc()
    let yjsDone = 0
    const pumpYjs = () => {
      for (; yjsDone < yjs.frames.length; yjsDone++) {
        const f = parseFrame(yjs.frames[yjsDone] as Uint8Array)
        if (f.kind === 'sync' && f.syncType !== SyncType.Step1) Y.applyUpdate(doc, f.update)
      }
      return readBoardBitmap(doc, 96, 64)
    }

    // Placements from another socket, one at a time and in bursts (several per commit).
    const placed: { x: number; y: number; color: number }[] = []
    for (const t of randomTiles(10, 96, 64, 2)) {
      expect((await p.placeAll([t]))[0]).toMatchObject({ ok: true })
      placed.push(t)
    }
    for (let burst = 0; burst < 5; burst++) {
      const tiles = randomTiles(20, 96, 64, 10 + burst)
      expect((await p.placeAll(tiles)).every((r) => r.ok)).toBe(true)
      placed.push(...tiles)
    }
    await caughtUp(view, 'main')

    // Seqs continue from the cursor without a gap, and the values are the placements, in order.
    // Live frames: those after the cursor that follows the sync answer. A commit whose broadcast
    // the fan-out still held when this socket joined reaches it before that answer (view.early).
    const live = framesOf(sock)
      .slice(step2 + 2)
      .flatMap((f) => (f.kind === 'tiles' && f.values.length > 0 ? [f] : []))
    let expected = cursor + 1
    for (const f of live) {
      expect(f.firstSeq).toBe(expected)
      expected += f.values.length
    }
    expect(expected).toBe((await lastSeq('main')) + 1)
    expect(view.applied).toEqual(Array.from({ length: placed.length }, (_, i) => cursor + 1 + i))
    expect(live.flatMap((f) => [...f.values].map(decodeTileValue))).toEqual(placed)
    expect(live.length).toBeLessThan(placed.length) // bursts shared commits

    // The tiles socket got no Yjs update, the yjs socket got updates and no Tiles or Config.
    expect(yjsUpdates(sock)).toEqual([])
    await waitFor(() => sameBytes(pumpYjs(), roomOf('main').bitmap()), { what: 'yjs view equal to the board' })
    expect(yjsUpdates(yjs).length).toBeGreaterThan(0)
    expect(yjs.frames.some((f) => f[0] === MessageType.Tiles || f[0] === MessageType.Config)).toBe(false)
    expect(sameBytes(pumpYjs(), view.board()?.bitmap as Uint8Array)).toBe(true)
    expect(readDocConfig(doc)).toEqual(view.config())

    // Syncing again mid-stream (how a client recovers from a gap) gets a fresh answer and cursor.
    const before = sock.frames.length
    sock.send(syncStep1())
    await waitFor(
      () =>
        framesOf(sock)
          .slice(before)
          .some((f) => f.kind === 'tiles' && f.values.length === 0),
      { what: 'new cursor' },
    )
    await caughtUp(view, 'main')
    for (const s of [sock, yjs, p.sock]) s.close()
    doc.destroy()
  })

  it('carries 4 bytes a placement plus a header of type, firstSeq and count', async () => {
    const view = await syncedTiles('bytes')
    const yjs = await openRaw(`${relay.wsBase}/bytes`)
    yjs.send(syncStep1())
    await waitFor(() => framesOf(yjs).some((f) => f.kind === 'sync' && f.syncType === SyncType.Step2))
    const p = await placer('bytes')
    expect(await p.placeAll([{ x: 3, y: 4, color: 5 }])).toMatchObject([{ ok: true }])
    await caughtUp(view, 'bytes')
    const [one] = tilesFrames(view.sock).filter((f) => f.values.length > 0)
    expect(one).toBeDefined()
    const seq = one?.firstSeq as number
    expect(one?.bytes).toBe(1 + varUintBytes(seq) + 1 + 4)
    expect([...(one?.values ?? [])]).toEqual([encodeTileValue(3, 4, 5)])
    // The same commit as a Yjs update is several times larger.
    await waitFor(() => yjsUpdates(yjs).length === 1)
    expect(yjs.frames.find((f) => f[0] === MessageType.Sync && f[1] === SyncType.Update)?.length).toBeGreaterThan(3 * (one?.bytes ?? 0))

    const tiles = randomTiles(200, 64, 64, 3)
    for (let i = 0; i < tiles.length; i += 50) expect((await p.placeAll(tiles.slice(i, i + 50))).every((r) => r.ok)).toBe(true)
    await caughtUp(view, 'bytes')
    const frames = tilesFrames(view.sock).filter((f) => f.values.length > 0)
    let payload = 0
    for (const f of frames) {
      expect(f.bytes).toBe(1 + varUintBytes(f.firstSeq) + varUintBytes(f.values.length) + 4 * f.values.length)
      payload += f.bytes - (1 + varUintBytes(f.firstSeq) + varUintBytes(f.values.length))
    }
    expect(payload).toBe(4 * 201)
    for (const s of [view.sock, yjs, p.sock]) s.close()
  })
})

describe('config and rejected writes', () => {
  it('sends a Config frame with the new values on an admin PATCH, before the tiles of a grown area', async () => {
    const view = await syncedTiles('settings')
    const version = view.pump().config()?.version as number
    const r = await adminCall(relay.url, ADMIN, 'PATCH', '/boards/settings', { cooldownMs: 1234 })
    expect(r.status).toBe(200)
    await waitFor(() => configFrames(view.sock).length === 2, { what: 'Config frame after PATCH' })
    expect(configFrames(view.sock)[1]).toMatchObject({ id: 'settings', cooldownMs: 1234, width: 32, version: version + 1 })
    await adminCall(relay.url, ADMIN, 'PATCH', '/boards/settings', { cooldownMs: 0 })

    const palette = (r.body.palette as string[]).concat('#abcdef')
    const grown = await adminCall(relay.url, ADMIN, 'PATCH', '/boards/settings', { width: 48, height: 40, palette })
    expect(grown.status).toBe(200)
    await waitFor(() => configFrames(view.sock).length === 4, { what: 'Config frame of the grown board' })
    expect(configFrames(view.sock)[3]).toEqual({ ...roomOf('settings').docConfig() })
    expect(configFrames(view.sock)[3]).toMatchObject({ width: 48, height: 40, palette, version: version + 3 })
    expect(view.pump().board()).toMatchObject({ width: 48, height: 40 })
    const placed = await placeHttp(relay.url, token, { x: 47, y: 39, color: 16 }, 'settings')
    expect(placed.status).toBe(200)
    await caughtUp(view, 'settings')
    const frames = framesOf(view.sock)
    const lastConfig = frames.length - 1 - [...frames].reverse().findIndex((f) => f.kind === 'config')
    const grownTile = frames.findIndex((f) => f.kind === 'tiles' && [...f.values].includes(encodeTileValue(47, 39, 16)))
    expect(lastConfig).toBeLessThan(grownTile)
    view.sock.close()
  })

  it('a config change and placements in one commit: the Config frame goes first', async () => {
    // A separate relay with a commit tick, so that a PATCH and a placement share a commit.
    const ticked = await startTestRelay({
      env: { ADMIN_TOKEN: ADMIN, TICK_MS: '400' },
      boards: [{ id: 'tick', width: 32, height: 32, shardSize: 16, cooldownMs: 0 }],
    })
    try {
      const room = ticked.rooms.get('tick') as Room
      const sock = await openRaw(`${ticked.wsBase}/tick?live=tiles`)
      await waitFor(() => configFrames(sock).length === 1)
      const { token: t } = await newSession(ticked.url)
      // A commit now, so that the next one waits for the tick.
      expect((await placeHttp(ticked.url, t, { x: 0, y: 0, color: 1 }, 'tick')).status).toBe(200)
      const patch = adminCall(ticked.url, ADMIN, 'PATCH', '/boards/tick', { width: 40 })
      await waitFor(() => room.config().width === 40, { what: 'config accepted' })
      const place = placeHttp(ticked.url, t, { x: 39, y: 1, color: 2 }, 'tick')
      expect((await patch).status).toBe(200)
      expect((await place).status).toBe(200)
      await waitFor(() => tilesFrames(sock).length === 2)
      const frames = framesOf(sock).filter((f) => f.kind === 'config' || f.kind === 'tiles')
      expect(frames.map((f) => f.kind)).toEqual(['config', 'tiles', 'config', 'tiles'])
      expect(frames[2]).toMatchObject({ config: { width: 40 } })
      expect(frames[3]).toMatchObject({ firstSeq: 2, values: new Uint32Array([encodeTileValue(39, 1, 2)]) })
      sock.close()
    } finally {
      await ticked.stop()
    }
  })

  it('a rejected placement takes no seq and sends no Tiles frame; a commit whose history write fails waits for the disk', async () => {
    const view = await syncedTiles('reject')
    const cursor = view.cursor() as number
    const p = await placer('reject')
    const refused = await p.placeAll([
      { x: 32, y: 0, color: 1 },
      { x: 0, y: 32, color: 1 },
      { x: 0, y: 0, color: 99 },
    ])
    expect(refused.map((r) => (r.ok ? 'ok' : r.error))).toEqual(['out-of-bounds', 'out-of-bounds', 'bad-color'])

    // The history write fails until `healed`: the commit waits (neither broadcast nor
    // acknowledged), placements meanwhile are refused as unavailable and numbered nothing, and
    // once the disk recovers the waiting commit lands with the next seq.
    const history = relay.stores.history
    const append = history.append
    let healed = false
    history.append = async (...args) => {
      if (!healed) throw new Error('injected history write failure')
      return append(...args)
    }
    try {
      const held = p.placeAll([{ x: 5, y: 5, color: 5 }])
      const other = await placer('reject')
      await waitFor(async () => {
        const [r] = await other.placeAll([{ x: 6, y: 6, color: 6 }])
        return r && !r.ok && r.error === 'unavailable'
      })
      other.sock.close()
      expect(tilesFrames(view.sock).filter((f) => f.values.length > 0)).toEqual([])
      healed = true
      expect(await held).toMatchObject([{ ok: true }])
    } finally {
      history.append = append
    }
    expect(roomOf('reject').bitmap()[6 * 32 + 6]).toBe(0)

    expect(await p.placeAll([{ x: 1, y: 1, color: 2 }])).toMatchObject([{ ok: true }])
    await caughtUp(view, 'reject')
    const frames = tilesFrames(view.sock).filter((f) => f.values.length > 0)
    expect(frames).toEqual([
      expect.objectContaining({ firstSeq: cursor + 1, values: new Uint32Array([encodeTileValue(5, 5, 5)]) }),
      expect.objectContaining({ firstSeq: cursor + 2, values: new Uint32Array([encodeTileValue(1, 1, 2)]) }),
    ])
    expect(await lastSeq('reject')).toBe(cursor + 2)
    view.sock.close()
    p.sock.close()
  })
})

describe("a commit's broadcast and acknowledgements", () => {
  it('answers every placement in flight on one socket, in the writes that carry broadcasts of every frame length', async () => {
    // The placing socket is itself a live=tiles socket: its acks and Tiles frames share writes.
    const view = await syncedTiles('acks')
    const yjs = await openRaw(`${relay.wsBase}/acks?live=yjs&token=${token}`)
    const p = await placer('acks', '&live=tiles')
    p.sock.send(syncStep1())
    const own = tilesView(p.sock)
    await waitFor(() => own.pump().cursor() !== null)
    const yp = await placer('acks')

    const valid = randomTiles(120, 256, 128, 8)
    const intents = valid.flatMap((t, i) => (i % 10 === 0 ? [t, { x: 256, y: i, color: 1 }] : [t]))
    const [results, yResults, fill] = await Promise.all([
      p.placeAll(intents),
      yp.placeAll(randomTiles(60, 256, 128, 9)),
      // A broadcast over 64 KiB (20,000 tiles: 80,000 bytes) among the acks.
      adminCall(relay.url, ADMIN, 'POST', '/boards/acks/fill', { x: 0, y: 0, w: 200, h: 100, color: 4 }),
    ])
    expect(fill.status).toBe(200)
    // Each requestId got its own answer: valid ones ok, the out-of-bounds ones refused.
    expect(results.map((r) => (r.ok ? 'ok' : r.error))).toEqual(intents.map((t) => (t.x < 256 ? 'ok' : 'out-of-bounds')))
    expect(yResults.every((r) => r.ok)).toBe(true)
    const ackIds = p.sock.frames.filter((f) => f[0] === MessageType.PlaceResult).map((f) => readPlaceResult(body(f)).requestId)
    expect(new Set(ackIds).size).toBe(ackIds.length)
    expect(ackIds).toHaveLength(intents.length)

    await caughtUp(view, 'acks')
    await caughtUp(own, 'acks')
    // The fill's frame took the 64-bit length form (test/unit/ws-frame.test.ts checks every form).
    expect(tilesFrames(view.sock).some((f) => f.bytes > 65_535)).toBe(true)
    for (const s of [view.sock, yjs, p.sock, yp.sock]) expect(s.closed()).toBeNull()
    // The yjs socket never asked for a sync: it still gets every commit's update.
    expect(yjsUpdates(yjs).length).toBeGreaterThan(0)
    for (const s of [view.sock, yjs, p.sock, yp.sock]) s.close()
  })
})
