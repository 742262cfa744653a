/**
 * live=tiles sockets against a real relay: the Config frame on connect, sync step 2 then the
 * cursor, Tiles frames numbered by history seq (contiguous, 4 bytes a placement, no Yjs updates),
 * resuming with `since` (exact catch-up, held-back live frames, full sync when too far behind or
 * ahead, 4400 for a bad `since`), Config frames on admin changes, rejected and failed writes that
 * take no seq, and a commit's broadcast and acknowledgements written together (relay/ws-frame.ts).
 * Every view is checked against the relay's own board.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Room } from '../../relay/room.ts'
import { type DocConfig, readBoardBitmap, readDocConfig } from '../../shared/doc-schema.ts'
import { encodePlace, readConfig, readPlaceResult, readTiles } from '../../shared/frames.ts'
import { CloseCode, MAX_RESUME_TILES, MessageType, type PlaceResult } from '../../shared/protocol.ts'
import { decodeTileValue, encodeTileValue } from '../../shared/tile-codec.ts'
import { applyUpdateToBitmap, type BoardBitmap, growBitmap } from '../../shared/update-reader.ts'
import { adminCall } from '../helpers/admin.ts'
import { sameBytes } from '../helpers/bytes.ts'
import { newSession, openRaw, placeHttp, type RawSocket } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'test-admin-token-live-tiles'
/** y-protocols sync message types (after MessageType.Sync). */
const SyncType = { Step1: 0, Step2: 1, Update: 2 } as const

let relay: TestRelay
let token: string
beforeAll(async () => {
  relay = await startTestRelay({
    // Sockets here send bursts of Place frames: the per-socket message rate is not under test.
    // One chunk holds a whole 20,000-tile fill, so that its commit's frame is over 64 KiB.
    env: { ADMIN_TOKEN: ADMIN, MESSAGES_PER_SECOND: '100000', MESSAGE_BURST: '100000', ADMIN_CHUNK_TILES: '20000' },
    boards: [
      { id: 'main', width: 96, height: 64, shardSize: 16, cooldownMs: 0 },
      { id: 'bytes', width: 64, height: 64, shardSize: 16, cooldownMs: 0 },
      { id: 'resume', width: 64, height: 64, shardSize: 16, cooldownMs: 0 },
      { id: 'far', width: 512, height: 512, shardSize: 64, cooldownMs: 0 },
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

const roomOf = (id: string) => relay.rooms.get(id) as Room
const lastSeq = (id: string) => relay.stores.history.lastSeq(id)

/** Bytes of a lib0 varuint. */
const varUintBytes = (n: number) => {
  let bytes = 1
  for (let v = n; v >= 128; v = Math.floor(v / 128)) bytes++
  return bytes
}

/** A sync step 1 frame with an empty state vector (a client that holds nothing). */
const syncStep1 = (): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Sync)
  encoding.writeVarUint(enc, SyncType.Step1)
  encoding.writeVarUint8Array(enc, Y.encodeStateVector(new Y.Doc()))
  return encoding.toUint8Array(enc)
}

type Frame =
  | { kind: 'config'; config: DocConfig }
  | { kind: 'tiles'; firstSeq: number; values: Uint32Array; bytes: number }
  | { kind: 'sync'; syncType: number; update: Uint8Array }
  | { kind: 'other'; type: number }

const parseFrame = (bytes: Uint8Array): Frame => {
  const dec = decoding.createDecoder(bytes)
  const type = decoding.readVarUint(dec)
  if (type === MessageType.Config) return { kind: 'config', config: readConfig(dec) as DocConfig }
  if (type === MessageType.Tiles) return { kind: 'tiles', ...readTiles(dec), bytes: bytes.length }
  if (type === MessageType.Sync) {
    const syncType = decoding.readVarUint(dec)
    return { kind: 'sync', syncType, update: decoding.readVarUint8Array(dec) }
  }
  return { kind: 'other', type }
}

/** The body of a frame (after its type). */
const body = (frame: Uint8Array) => {
  const dec = decoding.createDecoder(frame)
  decoding.readVarUint(dec)
  return dec
}

const framesOf = (sock: RawSocket) => sock.frames.map(parseFrame)
const tilesFrames = (sock: RawSocket) => framesOf(sock).flatMap((f) => (f.kind === 'tiles' ? [f] : []))
const configFrames = (sock: RawSocket) => framesOf(sock).flatMap((f) => (f.kind === 'config' ? [f.config] : []))
/** Frames that carry Yjs document updates after the first sync (sync type 2). */
const yjsUpdates = (sock: RawSocket) => framesOf(sock).filter((f) => f.kind === 'sync' && f.syncType === SyncType.Update)

/**
 * A live=tiles client as docs/PROTOCOL.md describes it: a bitmap (no Y.Doc) painted from sync
 * answers and Tiles frames, and a cursor, the last seq it holds. Entries of a Tiles frame up to
 * the cursor are already held (skipped); a frame whose firstSeq is beyond cursor + 1 is
 * a gap (recorded: the tests expect none).
 */
type TilesView = {
  sock: RawSocket
  /** Processes the frames received so far; returns the view. */
  pump: () => TilesView
  board: () => BoardBitmap | null
  config: () => DocConfig | null
  /** Last seq painted (every write up to it is held), or null before the first cursor frame. */
  cursor: () => number | null
  /** Seqs painted from Tiles frames, in order. */
  applied: number[]
  gaps: { expected: number; got: number }[]
  /** Tiles frames received before any cursor (the sync answer that follows holds them). */
  early: number
}

const emptyBoard = (config: DocConfig): BoardBitmap => ({
  bitmap: new Uint8Array(config.width * config.height),
  width: config.width,
  height: config.height,
})

const tilesView = (sock: RawSocket, start: { board: BoardBitmap; cursor: number } | null = null): TilesView => {
  let board = start?.board ?? null
  let cursor = start?.cursor ?? null
  let config: DocConfig | null = null
  let done = 0
  const view: TilesView = {
    sock,
    applied: [],
    gaps: [],
    early: 0,
    board: () => board,
    config: () => config,
    cursor: () => cursor,
    pump: () => {
      while (done < sock.frames.length) {
        const f = parseFrame(sock.frames[done++] as Uint8Array)
        if (f.kind === 'config') {
          config = f.config
          if (board) board = growBitmap(board, f.config.width, f.config.height)
        } else if (f.kind === 'sync' && f.syncType === SyncType.Step2) {
          // The answer to an empty state vector: the whole board (a fresh bitmap).
          if (!config) throw new Error('sync step 2 before any Config frame')
          board = applyUpdateToBitmap(emptyBoard(config), f.update).board
        } else if (f.kind === 'tiles') {
          if (f.values.length === 0) {
            cursor = f.firstSeq - 1
            if (!board && config) board = emptyBoard(config)
          } else if (cursor === null || !board) {
            view.early++
          } else if (f.firstSeq > cursor + 1) {
            view.gaps.push({ expected: cursor + 1, got: f.firstSeq })
          } else {
            f.values.forEach((value, i) => {
              const seq = f.firstSeq + i
              if (seq <= (cursor as number)) return
              const { x, y, color } = decodeTileValue(value)
              const b = board as BoardBitmap
              if (x < b.width && y < b.height) b.bitmap[y * b.width + x] = color
              view.applied.push(seq)
            })
            cursor = Math.max(cursor, f.firstSeq + f.values.length - 1)
          }
        }
      }
      return view
    },
  }
  return view
}

/** Waits until the view holds every write the board's history has (and the cursor says so). */
const caughtUp = async (view: TilesView, id: string) => {
  const last = await lastSeq(id)
  await waitFor(() => view.pump().cursor() === last, { what: `${id}: tiles view at seq ${last}` })
  expect(view.gaps).toEqual([])
  expect(sameBytes(view.board()?.bitmap ?? new Uint8Array(), roomOf(id).bitmap())).toBe(true)
}

/** Opens a live=tiles socket, sends sync step 1 and waits for step 2 and the cursor. */
const syncedTiles = async (id: string) => {
  const sock = await openRaw(`${relay.wsBase}/${id}?live=tiles`)
  await waitFor(() => configFrames(sock).length > 0, { what: 'Config frame' })
  sock.send(syncStep1())
  const view = tilesView(sock)
  await waitFor(() => view.pump().cursor() !== null, { what: 'cursor' })
  return view
}

/** A raw socket with an identity that places on a board; sends many Place frames at once. */
const placer = async (id: string, params = '') => {
  const sock = await openRaw(`${relay.wsBase}/${id}?token=${token}${params}`)
  let nextId = 1_000_000
  const resultOf = (requestId: number) => {
    for (const f of sock.frames) {
      const dec = decoding.createDecoder(f)
      if (decoding.readVarUint(dec) !== MessageType.PlaceResult) continue
      const r = readPlaceResult(dec)
      if (r.requestId === requestId) return r.result
    }
    return null
  }
  /** Sends every intent at once (no waiting in between) and waits for all their results. */
  const placeAll = async (tiles: readonly { x: number; y: number; color: number }[]): Promise<PlaceResult[]> => {
    const ids = tiles.map((t) => {
      const requestId = nextId++
      sock.send(encodePlace({ requestId, ...t }))
      return requestId
    })
    return waitFor(
      () => {
        const results = ids.map(resultOf)
        return results.every((r) => r !== null) ? (results as PlaceResult[]) : null
      },
      { what: `${ids.length} PlaceResults` },
    )
  }
  return { sock, placeAll, resultOf }
}

const randomTiles = (n: number, width: number, height: number, seed: number) =>
  Array.from({ length: n }, (_, i) => {
    const k = (seed * 7919 + i * 104_729) >>> 0
    return { x: k % width, y: Math.floor(k / width) % height, color: (i % 15) + 1 }
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
    const live = tilesFrames(sock).filter((f) => f.values.length > 0)
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

describe('resume with since', () => {
  it('sends exactly the missed writes from cursor + 1, then live frames without a gap', async () => {
    const first = await syncedTiles('resume')
    const p = await placer('resume')
    expect((await p.placeAll(randomTiles(20, 64, 64, 4))).every((r) => r.ok)).toBe(true)
    await caughtUp(first, 'resume')
    const held = { board: first.board() as BoardBitmap, cursor: first.cursor() as number }
    first.sock.close()

    // Missed while away: one at a time, so their order (and seqs) is known.
    const missed = randomTiles(25, 64, 64, 5)
    for (const t of missed) expect(await p.placeAll([t])).toMatchObject([{ ok: true }])
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
