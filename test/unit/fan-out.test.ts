import * as decoding from 'lib0/decoding'
import { describe, expect, it } from 'vitest'
import { broadcastSpacing, createFanOut, createLoopUtilisation, MAX_DELAY_MS } from '../../relay/fan-out.ts'
import { createRoomSockets, type RoomConn } from '../../relay/room-sockets.ts'
import { createSyncAnswers } from '../../relay/sync-answers.ts'
import type { DocConfig } from '../../shared/doc-schema.ts'
import { encodeTiles, readConfig, readTiles } from '../../shared/frames.ts'
import { LiveMode, MessageType } from '../../shared/protocol.ts'
import { waitFor } from '../helpers/wait-for.ts'

/** The payloads of consecutive server WebSocket frames (unmasked, binary). */
const unframe = (bytes: Buffer): Uint8Array[] => {
  const out: Uint8Array[] = []
  for (let at = 0; at < bytes.length; ) {
    expect(bytes[at]).toBe(0x82)
    let n = bytes[at + 1] as number
    let head = 2
    if (n === 126) {
      n = bytes.readUInt16BE(at + 2)
      head = 4
    } else if (n === 127) {
      n = Number(bytes.readBigUInt64BE(at + 2))
      head = 10
    }
    out.push(bytes.subarray(at + head, at + head + n))
    at += head + n
  }
  return out
}

type Seen = { framed: Buffer; payloads: readonly Uint8Array[] }

const fakeConn = (live: LiveMode, cursors = false) => {
  const seen: Seen[] = []
  const conn: RoomConn = {
    send: () => {},
    sendFramed: (framed, payloads) => seen.push({ framed, payloads }),
    cork: () => {},
    uncork: () => {},
    tessera: true,
    user: null,
    live,
    ip: '127.0.0.1',
    cursors,
  }
  return { conn, seen }
}

/** A frame's message type and what it carries: tiles (firstSeq, values), a config, or raw bytes. */
const decode = (payload: Uint8Array) => {
  const dec = decoding.createDecoder(payload)
  const type = decoding.readVarUint(dec)
  if (type === MessageType.Tiles) {
    const t = readTiles(dec)
    return { tiles: [t.firstSeq, [...t.values]] as const }
  }
  if (type === MessageType.Config) return { config: (readConfig(dec) as DocConfig).version }
  return { raw: [...payload] }
}

const config = (version: number) => ({ version }) as unknown as DocConfig
const yjsFrame = (n: number) => new Uint8Array([0, 2, 1, n])

/** A fan-out over real room sockets with a clock the test moves and a fixed utilisation. */
const setup = (opts: { minSpacingMs?: number; elu?: number } = {}) => {
  let t = 0
  const sockets = createRoomSockets({ nextPlaceAt: () => 0, banReasonOf: () => null })
  const answers = createSyncAnswers()
  const fanOut = createFanOut({
    sockets,
    answers,
    docSeq: 10,
    clock: () => t,
    utilisation: () => ({ elu: opts.elu ?? 0, ms: 1000 }),
    ...(opts.minSpacingMs === undefined ? {} : { minSpacingMs: opts.minSpacingMs }),
  })
  const tiles = fakeConn(LiveMode.Tiles)
  const yjs = fakeConn(LiveMode.Yjs)
  const cursor = fakeConn(LiveMode.Yjs, true)
  for (const c of [tiles, yjs, cursor]) sockets.add(c.conn)
  return {
    fanOut,
    answers,
    tiles,
    yjs,
    cursor,
    advance: (ms: number) => {
      t += ms
    },
  }
}

describe('broadcastSpacing', () => {
  it('lets broadcasts take the thread while the relay is at most a quarter busy otherwise, a tenth from half busy on, never waiting past MAX_DELAY_MS', () => {
    // Back to back while the relay's other work leaves room, as when every commit was broadcast alone.
    expect(broadcastSpacing(2, 0)).toBe(0)
    expect(broadcastSpacing(2, 0.25)).toBe(0)
    // Saturated: a tenth of the thread from one start to the next.
    expect(broadcastSpacing(1, 1)).toBeCloseTo(9)
    expect(broadcastSpacing(1, 0.5)).toBeCloseTo(9)
    expect(broadcastSpacing(1, 0.375)).toBeGreaterThan(0)
    expect(broadcastSpacing(1, 0.375)).toBeLessThan(9)
    expect(broadcastSpacing(100, 1)).toBe(MAX_DELAY_MS)
    expect(broadcastSpacing(0, 1)).toBe(0)
  })
})

describe('createLoopUtilisation', () => {
  it("reads the loop's busy share, but never more than the CPU time the process got: a loop taken off the CPU is not busy", () => {
    let loop = { idle: 0, active: 0 }
    let cpu = { user: 0, system: 0 }
    const read = createLoopUtilisation({ loop: () => loop, cpu: () => cpu })
    // A core to itself: 40 ms of 100 active, 45 ms of CPU (another thread's too): the loop's 0.4.
    loop = { idle: 60, active: 40 }
    cpu = { user: 40_000, system: 5_000 }
    expect(read()).toEqual({ elu: 0.4, ms: 100 })
    // Descheduled: 70 ms of 100 "active", but the process ran 35 ms in all: 0.35.
    loop = { idle: 90, active: 110 }
    cpu = { user: 70_000, system: 10_000 }
    expect(read()).toEqual({ elu: 0.35, ms: 100 })
    // No time passed: nothing measured.
    expect(read()).toEqual({ elu: 0, ms: 0 })
  })
})

describe('createFanOut', () => {
  it('broadcasts a commit at once while broadcasts cost nothing, each socket its own kind of frames', () => {
    const { fanOut, tiles, yjs, cursor } = setup()
    fanOut.committed({ firstSeq: 11, tiles: [5, 6], config: null, yjs: yjsFrame(1), docSeq: 12 })
    expect(fanOut.sentSeq()).toBe(12)
    expect(fanOut.waiting()).toBe(0)
    expect(tiles.seen.map((s) => s.payloads.map(decode))).toEqual([[{ tiles: [11, [5, 6]] }]])
    expect(yjs.seen.map((s) => s.payloads.map(decode))).toEqual([[{ raw: [0, 2, 1, 1] }]])
    // The reader that asked for cursors: the update, then the next seq it expects.
    expect(cursor.seen.map((s) => s.payloads.map(decode))).toEqual([[{ raw: [0, 2, 1, 1] }, { tiles: [13, []] }]])
    // What is written is exactly the payloads, framed.
    for (const c of [tiles, yjs, cursor])
      for (const s of c.seen) expect(unframe(s.framed).map((p) => [...p])).toEqual(s.payloads.map((p) => [...p]))
  })

  it('coalesces the commits made while a broadcast is not due into their exact concatenation, in order', () => {
    const { fanOut, answers, tiles, yjs, cursor, advance } = setup({ minSpacingMs: 30 })
    answers.put(new Uint8Array([0]), new Uint8Array([9, 9]), 10, 0, 1)
    expect(fanOut.committed({ firstSeq: 11, tiles: [1], config: null, yjs: yjsFrame(1), docSeq: 11 })).toBe(true)
    fanOut.sent(0)
    // Due again at 30 ms: these wait.
    advance(5)
    fanOut.committed({ firstSeq: 12, tiles: [2, 3], config: null, yjs: yjsFrame(2), docSeq: 13 })
    fanOut.committed({ firstSeq: 0, tiles: [], config: config(2), yjs: yjsFrame(3), docSeq: 13 })
    fanOut.committed({ firstSeq: 14, tiles: [4], config: null, yjs: yjsFrame(4), docSeq: 14 })
    fanOut.committed({ firstSeq: 15, tiles: [5, 6], config: null, yjs: yjsFrame(5), docSeq: 16 })
    expect(fanOut.waiting()).toBe(4)
    expect(fanOut.sentSeq()).toBe(11)
    expect(tiles.seen).toHaveLength(1)
    fanOut.flush()
    expect(fanOut.waiting()).toBe(0)
    expect(fanOut.sentSeq()).toBe(16)
    expect(tiles.seen).toHaveLength(2)
    // One write: Tiles frames joined while contiguous, the Config change between them in place.
    expect(tiles.seen[1]?.payloads.map(decode)).toEqual([{ tiles: [12, [2, 3]] }, { config: 2 }, { tiles: [14, [4, 5, 6]] }])
    expect(yjs.seen[1]?.payloads.map(decode)).toEqual([2, 3, 4, 5].map((n) => ({ raw: [0, 2, 1, n] })))
    expect(cursor.seen[1]?.payloads.map(decode).at(-1)).toEqual({ tiles: [17, []] })
    // The same buffer for every socket of a kind, holding exactly its payloads.
    expect(unframe(tiles.seen[1]?.framed as Buffer)).toHaveLength(3)
    // A cached sync answer received what the sockets received, in the same order.
    const cached = answers.get(new Uint8Array([0]), LiveMode.Tiles, 0) as Uint8Array[]
    expect(cached.slice(2).map(decode)).toEqual([{ tiles: [11, [1]] }, { tiles: [12, [2, 3]] }, { config: 2 }, { tiles: [14, [4, 5, 6]] }])
    const cachedYjs = answers.get(new Uint8Array([0]), LiveMode.Yjs, 0) as Uint8Array[]
    expect(cachedYjs.slice(1).map(decode)).toEqual([1, 2, 3, 4, 5].map((n) => ({ raw: [0, 2, 1, n] })))
  })

  it('spaces broadcasts by what the last one cost, writes included (reported by the committer, who uncorks)', () => {
    const { fanOut, tiles, advance } = setup({ elu: 1 })
    expect(fanOut.committed({ firstSeq: 11, tiles: [1], config: null, yjs: null, docSeq: 11 })).toBe(true)
    // Its writes took 0.5 ms at uncork: on a saturated relay (a tenth of the thread), the next
    // may start 4.5 ms later.
    fanOut.sent(0.5)
    advance(4)
    expect(fanOut.committed({ firstSeq: 12, tiles: [2], config: null, yjs: null, docSeq: 12 })).toBe(false)
    advance(0.6)
    expect(fanOut.committed({ firstSeq: 13, tiles: [3], config: null, yjs: null, docSeq: 13 })).toBe(true)
    expect(tiles.seen.map((s) => s.payloads.map(decode))).toEqual([[{ tiles: [11, [1]] }], [{ tiles: [12, [2, 3]] }]])
    fanOut.close()
  })

  it('follows a trend of the other work of the relay, not one busy interval', () => {
    let elu = 0
    const sockets = createRoomSockets({ nextPlaceAt: () => 0, banReasonOf: () => null })
    let t = 0
    const fanOut = createFanOut({
      sockets,
      answers: createSyncAnswers(),
      docSeq: 10,
      clock: () => t,
      utilisation: () => ({ elu, ms: 1000 }),
    })
    const commit = (seq: number) => fanOut.committed({ firstSeq: seq, tiles: [1], config: null, yjs: null, docSeq: seq })
    // Idle: back to back.
    expect(commit(11)).toBe(true)
    fanOut.sent(1)
    expect(commit(12)).toBe(true)
    // One interval with all of the thread busy: smoothed to 0.3 of it, barely spaced (0.2 ms).
    elu = 1
    fanOut.sent(1)
    t += 0.5
    expect(commit(13)).toBe(true)
    // Busy on and on: a tenth of the thread (9 ms after a broadcast of 1 ms).
    for (let i = 0; i < 10; i++) fanOut.sent(1)
    t += 8
    expect(commit(14)).toBe(false)
    t += 1.5
    expect(commit(15)).toBe(true)
    fanOut.close()
  })

  it('sends what waits by itself once the spacing has passed', async () => {
    const { fanOut, tiles } = setup({ minSpacingMs: 20 })
    fanOut.committed({ firstSeq: 11, tiles: [1], config: null, yjs: null, docSeq: 11 })
    fanOut.sent(0)
    fanOut.committed({ firstSeq: 12, tiles: [2], config: null, yjs: null, docSeq: 12 })
    expect(fanOut.waiting()).toBe(1)
    await waitFor(() => fanOut.waiting() === 0)
    expect(tiles.seen.map((s) => s.payloads.map(decode))).toEqual([[{ tiles: [11, [1]] }], [{ tiles: [12, [2]] }]])
    fanOut.close()
  })

  it('skips the sockets a broadcast has nothing for', () => {
    const { fanOut, tiles, yjs } = setup()
    fanOut.committed({ firstSeq: 0, tiles: [], config: null, yjs: yjsFrame(7), docSeq: 10 })
    expect(tiles.seen).toHaveLength(0)
    expect(yjs.seen).toHaveLength(1)
    const tilesOnly = encodeTiles(11, [8])
    fanOut.committed({ firstSeq: 11, tiles: [8], config: null, yjs: null, docSeq: 11 })
    expect(yjs.seen).toHaveLength(1)
    expect(tiles.seen.map((s) => s.payloads.map((p) => [...p]))).toEqual([[[...tilesOnly]]])
  })
})
