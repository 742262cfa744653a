/**
 * Broadcasts coalesced by the fan-out (relay/fan-out.ts), against a real relay: with
 * BROADCAST_MIN_MS=1000 two commits made within a second are acknowledged at once (each when
 * durable) and reach the sockets together, as the exact concatenation of the commits: one Tiles
 * frame with contiguous seqs for live=tiles, each commit's update frame and then one cursor for a
 * live=yjs reader with cursors=1. A sync answer asked meanwhile sends what waits first. Every view
 * ends equal to the relay's history and board.
 */
import * as decoding from 'lib0/decoding'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Room } from '../../relay/room.ts'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { readTiles } from '../../shared/frames.ts'
import { MessageType } from '../../shared/protocol.ts'
import { decodeTileValue, encodeTileValue } from '../../shared/tile-codec.ts'
import { newSession, openRaw, type RawSocket } from '../helpers/clients.ts'
import { SyncType, syncStep1 } from '../helpers/live-tiles-rig.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

/** The fan-out's spacing between two broadcasts, ms (the most relay/config.ts allows). */
const BROADCAST_MIN_MS = 1000
let relay: TestRelay
let token: string
beforeAll(async () => {
  relay = await startTestRelay({
    env: { BROADCAST_MIN_MS: String(BROADCAST_MIN_MS), MESSAGES_PER_SECOND: '100000', MESSAGE_BURST: '100000' },
    boards: [{ id: 'main', width: 64, height: 64, shardSize: 16, cooldownMs: 0 }],
  })
  token = (await newSession(relay.url)).token
})
afterAll(async () => {
  await relay.stop()
})

type Seen = { kind: 'tiles'; firstSeq: number; values: number[] } | { kind: 'update' | 'answer'; update: Uint8Array } | { kind: 'other' }

const parse = (frame: Uint8Array): Seen => {
  const dec = decoding.createDecoder(frame)
  const type = decoding.readVarUint(dec)
  if (type === MessageType.Tiles) {
    const t = readTiles(dec)
    return { kind: 'tiles', firstSeq: t.firstSeq, values: [...t.values] }
  }
  if (type === MessageType.Sync) {
    const syncType = decoding.readVarUint(dec)
    if (syncType === SyncType.Update) return { kind: 'update', update: decoding.readVarUint8Array(dec) }
    if (syncType === SyncType.Step2) return { kind: 'answer', update: decoding.readVarUint8Array(dec) }
  }
  return { kind: 'other' }
}
const seen = (sock: RawSocket) => sock.frames.map(parse)
const tilesOf = (sock: RawSocket) => seen(sock).flatMap((f) => (f.kind === 'tiles' && f.values.length > 0 ? [f] : []))
/** The last seq a live=tiles socket has seen, or -1. */
const lastSeenSeq = (sock: RawSocket) => {
  const last = tilesOf(sock).at(-1)
  return last ? last.firstSeq + last.values.length - 1 : -1
}

/**
 * Runs `round(i)` until one is judged: a round whose placements took longer than the spacing
 * cannot say whether commits within it are coalesced (the spacing timer rightly sends one alone
 * then), which a loaded machine may cause. A round after the first starts once the last one's
 * broadcasts are out and their spacing is over. The relay runs in this process: its fan-out's
 * clock is this performance.now, so a round timed from before its first placement (which is
 * broadcast no sooner) is timed conservatively.
 */
const ROUNDS = 5
const judgedRound = async <T>(viewer: RawSocket, round: (i: number) => Promise<T>): Promise<T | null> => {
  const room = relay.rooms.get('main') as Room
  for (let i = 0; i < ROUNDS; i++) {
    if (i > 0) {
      // The last round's broadcasts out, and its spacing over: this round's first is sent at once.
      await waitFor(() => lastSeenSeq(viewer) === room.lastSeq(), { what: 'the last round broadcast' })
      const seenAt = performance.now()
      await waitFor(() => performance.now() - seenAt >= BROADCAST_MIN_MS, { what: 'the spacing over', intervalMs: 50 })
    }
    const started = performance.now()
    const result = await round(i)
    if (performance.now() - started < BROADCAST_MIN_MS) return result
  }
  return null
}

describe('coalesced broadcasts', () => {
  it('acknowledges each commit when durable and broadcasts the commits of the spacing together, exactly', async (ctx) => {
    const room = relay.rooms.get('main') as Room
    const placer = await openRaw(`${relay.wsBase}/main?live=tiles&token=${token}`)
    const viewer = await openRaw(`${relay.wsBase}/main?live=tiles`)
    const reader = await openRaw(`${relay.wsBase}/main?live=yjs&cursors=1`)
    reader.send(syncStep1())
    await waitFor(() => seen(reader).some((f) => f.kind === 'tiles'))

    // A round: a first commit, broadcast at once (or when the last round's spacing ends); then
    // two commits (the second sent after the first's acknowledgement) within the spacing that
    // broadcast started, both acknowledged while their broadcast waits.
    const judged = await judgedRound(viewer, async (i) => {
      const y = 1 + i * 4
      const frames = tilesOf(viewer).length
      expect((await placer.place(1, y, 2)).ok).toBe(true)
      await waitFor(() => tilesOf(viewer).length === frames + 1)
      const firstSeq = room.lastSeq()
      expect((await placer.place(2, y + 1, 3)).ok).toBe(true)
      expect((await placer.place(3, y + 2, 4)).ok).toBe(true)
      return { y, frames, firstSeq, sent: tilesOf(viewer).length }
    })
    if (!judged) return ctx.skip(`no round of ${ROUNDS} placed its three tiles within the spacing`)
    const { y, frames, firstSeq } = judged
    expect(room.lastSeq()).toBe(firstSeq + 2)
    // Neither later commit went out on its own.
    expect(judged.sent).toBe(frames + 1)

    // Then one Tiles frame holds both, seqs contiguous after the first.
    await waitFor(() => tilesOf(viewer).length === frames + 2)
    expect(tilesOf(viewer)[frames + 1]).toEqual({
      kind: 'tiles',
      firstSeq: firstSeq + 1,
      values: [encodeTileValue(2, y + 1, 3), encodeTileValue(3, y + 2, 4)],
    })
    // The placer's own socket saw the same frames.
    await waitFor(() => tilesOf(placer).length === frames + 2)
    expect(tilesOf(placer)).toEqual(tilesOf(viewer))

    // The reader: each commit's update in order, then one cursor naming the next seq.
    await waitFor(() => {
      const s = seen(reader)
      const last = s[s.length - 1]
      return last?.kind === 'tiles' && last.firstSeq === firstSeq + 3
    })
    const tail = seen(reader).slice(-3)
    expect(tail.map((f) => f.kind)).toEqual(['update', 'update', 'tiles'])
    // Its sync answer and the updates after it make the relay's board.
    const doc = new Y.Doc()
    for (const f of seen(reader)) if (f.kind === 'update' || f.kind === 'answer') Y.applyUpdate(doc, f.update)
    expect([...readBoardBitmap(doc, 64, 64)]).toEqual([...room.bitmap()])
    for (const s of [placer, viewer, reader]) s.close()
  })

  it('sends what waits before it encodes a new sync answer, so that answer and later frames neither overlap nor leave a gap', async (ctx) => {
    const room = relay.rooms.get('main') as Room
    const placer = await openRaw(`${relay.wsBase}/main?live=tiles&token=${token}`)
    const viewer = await openRaw(`${relay.wsBase}/main?live=tiles`)
    // A broadcast sets the next one 1,000 ms away; a commit within that waits.
    const judged = await judgedRound(viewer, async (i) => {
      const y = 30 + i * 2
      expect((await placer.place(10, y, 1)).ok).toBe(true)
      await waitFor(() => tilesOf(viewer).some((f) => f.values.includes(encodeTileValue(10, y, 1))))
      expect((await placer.place(11, y + 1, 5)).ok).toBe(true)
      const waitingSeq = room.lastSeq()
      return { waitingSeq, sent: tilesOf(viewer).some((f) => f.firstSeq === waitingSeq) }
    })
    if (!judged) return ctx.skip(`no round of ${ROUNDS} placed its two tiles within the spacing`)
    const { waitingSeq } = judged
    expect(judged.sent).toBe(false)
    // A y-websocket reader asks for the board now: the waiting commit is broadcast first.
    const reader = await openRaw(`${relay.wsBase}/main?live=yjs&cursors=1`)
    reader.send(syncStep1())
    await waitFor(() => seen(reader).some((f) => f.kind === 'tiles'))
    await waitFor(() => tilesOf(viewer).some((f) => f.firstSeq === waitingSeq))
    // The reader's cursor after its answer names the seq after the waiting commit.
    const cursor = seen(reader).find((f) => f.kind === 'tiles')
    expect(cursor).toEqual({ kind: 'tiles', firstSeq: waitingSeq + 1, values: [] })

    // Every view equals the relay's board and history.
    const relayBoard = room.bitmap()
    const records: number[] = []
    for await (const r of relay.stores.history.readAfter('main', 0)) records.push(encodeTileValue(r.x, r.y, r.color))
    const fromFrames = tilesOf(viewer).flatMap((f) => f.values)
    expect(fromFrames).toEqual(records.slice(records.length - fromFrames.length))
    // The history, painted, is the relay's board.
    const painted = new Uint8Array(64 * 64)
    for (const v of records) {
      const t = decodeTileValue(v)
      painted[t.y * 64 + t.x] = t.color
    }
    expect([...painted]).toEqual([...relayBoard])
    for (const s of [placer, viewer, reader]) s.close()
  })
})
