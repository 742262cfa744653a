/**
 * The client's live=tiles path without a socket: following Tiles frames by history seq
 * (client/sync/tiles-cursor.ts), and a board state driven by client/sync/board-sync.ts exactly
 * as the connection drives it, with the frames a relay sends (sync answers, cursor frames, Tiles
 * and Config frames, since= catch-ups). There is no Y.Doc on the page's side: the bitmap must be
 * the relay's board after every frame, through lost and repeated frames, resyncs, reconnects,
 * a start from a snapshot and a resume that is too far behind.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createBoardState, type Damage } from '../../client/sync/board-state.ts'
import { createBoardSync, type SyncBasis, SyncStep } from '../../client/sync/board-sync.ts'
import { followTiles } from '../../client/sync/tiles-cursor.ts'
import { type BoardConfig, DEFAULT_BOARD } from '../../shared/board.ts'
import { type DocConfig, replaceShard, writeDocConfig, writeTile } from '../../shared/doc-schema.ts'
import { encodeConfig, encodeTiles } from '../../shared/frames.ts'
import { MessageType } from '../../shared/protocol.ts'
import { encodeTileValue } from '../../shared/tile-codec.ts'

describe('following Tiles frames by seq', () => {
  it('waits for the cursor frame after a sync answer', () => {
    // Before it, the answer on its way holds the frame.
    expect(followTiles(null, 5, 3)).toEqual({ kind: 'skip' })
    // A frame without values is the cursor: everything before its first seq is held.
    expect(followTiles(null, 8, 0)).toEqual({ kind: 'cursor', cursor: 7 })
    // An empty board's answer: nothing held yet.
    expect(followTiles(null, 1, 0)).toEqual({ kind: 'cursor', cursor: 0 })
    // A later answer's cursor wins over the one held.
    expect(followTiles(7, 20, 0)).toEqual({ kind: 'cursor', cursor: 19 })
  })

  it('applies what continues the cursor, skips what is held, and reports a gap', () => {
    expect(followTiles(7, 8, 3)).toEqual({ kind: 'apply', from: 0, cursor: 10 })
    expect(followTiles(0, 1, 1)).toEqual({ kind: 'apply', from: 0, cursor: 1 })
    // Overlapping what is held: only the new values.
    expect(followTiles(7, 5, 6)).toEqual({ kind: 'apply', from: 3, cursor: 10 })
    // Entirely held (seqs 5..7).
    expect(followTiles(7, 5, 3)).toEqual({ kind: 'skip' })
    expect(followTiles(7, 1, 1)).toEqual({ kind: 'skip' })
    // Seq 8 never arrived.
    expect(followTiles(7, 9, 1)).toEqual({ kind: 'gap' })
    expect(followTiles(0, 2, 4)).toEqual({ kind: 'gap' })
  })
})

const board: BoardConfig = { ...DEFAULT_BOARD, width: 70, height: 50, shardSize: 16, cooldownMs: 0 }

/** Byte-wise equality (toEqual on typed arrays is slow enough to matter over hundreds of rounds). */
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0

/** Deterministic pseudo-random numbers (a fixed LCG), so failures replay. */
const lcg = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed / 2 ** 31
}

/** The relay's part: the document, its history of tile values (seq n at index n - 1), its bitmap. */
const fakeRelay = (config: BoardConfig) => {
  const doc = new Y.Doc()
  let current: DocConfig = { ...config, version: 1 }
  doc.transact(() => writeDocConfig(doc, current))
  const history: number[] = []
  let truth = new Uint8Array(config.width * config.height)
  return {
    doc,
    config: () => current,
    truth: () => truth,
    /** Commits placements; returns the Tiles frame every live=tiles socket gets. */
    commit: (tiles: { x: number; y: number; color: number }[]) => {
      const firstSeq = history.length + 1
      doc.transact(() => {
        for (const { x, y, color } of tiles) {
          writeTile(doc, current.shardSize, x, y, color)
          truth[y * current.width + x] = color
          history.push(encodeTileValue(x, y, color))
        }
      })
      return { firstSeq, values: Uint32Array.from(history.slice(firstSeq - 1)) }
    },
    /** Replaces a shard with a base of its colours (a compaction: no history seq, no frame). */
    compact: (sx: number, sy: number) => {
      const s = current.shardSize
      const colors = new Uint8Array(s * s)
      for (let ly = 0; ly < s; ly++) {
        for (let lx = 0; lx < s; lx++) {
          const x = sx * s + lx
          const y = sy * s + ly
          if (x < current.width && y < current.height) colors[ly * s + lx] = truth[y * current.width + x] as number
        }
      }
      doc.transact(() => replaceShard(doc, s, sx, sy, colors))
    },
    /** An admin change; returns the config a Config frame carries (through JSON, as on the wire). */
    updateConfig: (next: BoardConfig): unknown => {
      if (next.width !== current.width || next.height !== current.height) {
        const grown = new Uint8Array(next.width * next.height)
        for (let y = 0; y < current.height; y++) grown.set(truth.subarray(y * current.width, (y + 1) * current.width), y * next.width)
        truth = grown
      }
      current = { ...next, version: current.version + 1 }
      doc.transact(() => writeDocConfig(doc, current))
      return JSON.parse(JSON.stringify(current))
    },
    /** The frames answering a sync step 1 frame: sync step 2, then the cursor frame. */
    answer: (step1: Uint8Array): Uint8Array[] => {
      const dec = decoding.createDecoder(step1)
      expect(decoding.readVarUint(dec)).toBe(MessageType.Sync)
      expect(decoding.readVarUint(dec)).toBe(SyncStep.Step1)
      const enc = encoding.createEncoder()
      encoding.writeVarUint(enc, MessageType.Sync)
      encoding.writeVarUint(enc, SyncStep.Step2)
      encoding.writeVarUint8Array(enc, Y.encodeStateAsUpdate(doc, decoding.readVarUint8Array(dec)))
      return [encoding.toUint8Array(enc), encodeTiles(history.length + 1, [])]
    },
    /** What a since=S socket gets after Config: the catch-up, or (S unknown) the whole board. */
    resume: (since: number, max = Number.POSITIVE_INFINITY): Uint8Array[] => {
      if (since > history.length || history.length - since > max) {
        const enc = encoding.createEncoder()
        encoding.writeVarUint(enc, MessageType.Sync)
        encoding.writeVarUint(enc, SyncStep.Step2)
        encoding.writeVarUint8Array(enc, Y.encodeStateAsUpdate(doc))
        return [encoding.toUint8Array(enc), encodeTiles(history.length + 1, [])]
      }
      return [encodeTiles(since + 1, history.slice(since))]
    },
    configFrame: () => encodeConfig(current),
  }
}

/** The page's part, wired as client/sync/connection.ts wires it. */
const page = (initial: BoardConfig, basis: SyncBasis = { kind: 'blank' }) => {
  const state = createBoardState({ board: initial, version: 0 })
  const sync = createBoardSync(state, basis)
  let resyncs = 0
  const changes: { damage: Damage; configChanged: boolean }[] = []
  state.onChange((damage, configChanged) => changes.push({ damage, configChanged }))
  /** Delivers a frame; returns what the page sends back on the same socket (a resync), if anything. */
  const deliver = (bytes: Uint8Array): Uint8Array | null => {
    const dec = decoding.createDecoder(bytes)
    return sync.frame(decoding.readVarUint(dec), dec)
  }
  return {
    state,
    sync,
    changes,
    resyncs: () => resyncs,
    cursor: sync.cursor,
    deliver,
    /** A frame arrives; a resync request is answered by `relay` at once (as on the socket). */
    frame: (bytes: Uint8Array, relay: { answer: (step1: Uint8Array) => Uint8Array[] }) => {
      const reply = deliver(bytes)
      if (reply) {
        resyncs += 1
        for (const f of relay.answer(reply)) deliver(f)
      }
    },
    /** A new socket: Config, then the answer to what the page asks for. */
    connect: (relay: ReturnType<typeof fakeRelay>, maxResume?: number) => {
      const plan = sync.connect()
      deliver(relay.configFrame())
      const frames = plan.since !== null ? relay.resume(plan.since, maxResume) : relay.answer(plan.send as Uint8Array)
      for (const f of frames) deliver(f)
    },
  }
}

const tilesFrame = (f: { firstSeq: number; values: Uint32Array }) => encodeTiles(f.firstSeq, f.values)

describe('the board state fed by frames, as board-sync feeds it', () => {
  it('keeps the relay board through frames, lost frames, repeated frames, resyncs and reconnects', () => {
    const relay = fakeRelay(board)
    const p = page(board)
    p.connect(relay)
    expect(p.cursor()).toBe(0)
    expect(p.sync.current()).toBe(true)
    const rand = lcg(11)
    // A frame was lost and no later one arrived yet: the page cannot know, and is behind.
    let behind = false
    let reconnects = 0
    let last: { firstSeq: number; values: Uint32Array } | null = null
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(rand() * 12)
      const tiles = Array.from({ length: n }, () => ({
        x: Math.floor(rand() * board.width),
        y: Math.floor(rand() * board.height),
        color: Math.floor(rand() * 16),
      }))
      const frame = relay.commit(tiles)
      if (round % 9 === 4) relay.compact(Math.floor(rand() * 5), Math.floor(rand() * 4))
      const fate = rand()
      if (fate < 0.08) {
        // Lost: the next frame shows the gap.
        behind = true
      } else if (fate < 0.14 && last) {
        // The previous frame again, then this one: the repeat is skipped.
        p.frame(tilesFrame(last), relay)
        p.frame(tilesFrame(frame), relay)
      } else if (fate < 0.18) {
        // The socket drops and comes back: since=<cursor>, a catch-up, then the live frame again.
        reconnects += 1
        p.connect(relay)
        p.frame(tilesFrame(frame), relay)
      } else {
        p.frame(tilesFrame(frame), relay)
      }
      if (fate >= 0.08) behind = false
      last = frame
      if (!behind) {
        expect(p.cursor(), `round ${round}`).toBe(frame.firstSeq + frame.values.length - 1)
        expect(sameBytes(p.state.bitmap(), relay.truth()), `round ${round}`).toBe(true)
      }
    }
    expect(p.resyncs()).toBeGreaterThan(0)
    expect(reconnects).toBeGreaterThan(0)
    // A last frame after a lost one: resynced and current.
    relay.commit([{ x: 1, y: 1, color: 2 }])
    p.frame(tilesFrame(relay.commit([{ x: 2, y: 2, color: 3 }])), relay)
    expect(p.state.bitmap()).toEqual(relay.truth())
    expect(p.state.colorAt(2, 2)).toBe(3)
    // Tiles frames report the tiles they painted, and are not config changes.
    expect(p.changes.some((c) => !c.configChanged && !c.damage.full && c.damage.rects.every((r) => r.w === 1 && r.h === 1))).toBe(true)
  })

  it('starts from a snapshot (its state vector), and resumes from a stored cursor however far behind', () => {
    const relay = fakeRelay(board)
    const rand = lcg(5)
    const scatter = (n: number) =>
      Array.from({ length: n }, () => ({
        x: Math.floor(rand() * board.width),
        y: Math.floor(rand() * board.height),
        color: Math.floor(rand() * 16),
      }))
    for (let i = 0; i < 20; i++) relay.commit(scatter(10))
    const snapshot = { bitmap: relay.truth().slice(), sv: Y.encodeStateVector(relay.doc) }
    for (let i = 0; i < 20; i++) {
      relay.commit(scatter(10))
      if (i % 5 === 2) relay.compact(i % 5, 1)
    }
    // The snapshot's pixels, then the answer to its state vector, painted onto them.
    const fromSnapshot = page(board, { kind: 'sv', stateVector: snapshot.sv })
    fromSnapshot.state.load(snapshot.bitmap, board.width, board.height)
    fromSnapshot.connect(relay)
    expect(fromSnapshot.state.bitmap()).toEqual(relay.truth())
    expect(fromSnapshot.cursor()).toBe(400)

    // A stored board at seq 400 (what the page had then): a catch-up brings it to the relay's.
    const stored = page(board, { kind: 'since', cursor: 400 })
    stored.state.load(relay.truth().slice(), board.width, board.height)
    for (let i = 0; i < 10; i++) relay.commit(scatter(10))
    const grown = { ...board, width: 90, height: 60, palette: [...board.palette, '#123456'] }
    relay.updateConfig(grown)
    relay.commit([{ x: 89, y: 59, color: 16 }])
    stored.connect(relay)
    expect(stored.state.bitmap()).toEqual(relay.truth())
    expect(stored.state.config().width).toBe(90)
    expect(stored.cursor()).toBe(501)

    // Too far behind (the relay answers the whole board): painted onto a blank bitmap.
    const far = page(board, { kind: 'since', cursor: 100 })
    far.state.load(new Uint8Array(board.width * board.height).fill(7), board.width, board.height)
    far.connect(relay, 50)
    expect(far.state.bitmap()).toEqual(relay.truth())
    expect(far.cursor()).toBe(501)
    // A seq the relay never reached (its data was reset): the whole board too.
    const reset = page(board, { kind: 'since', cursor: 10_000 })
    reset.connect(relay)
    expect(reset.state.bitmap()).toEqual(relay.truth())
    expect(reset.cursor()).toBe(501)
  })

  it('takes Config frames: cooldown, palette, growth', () => {
    const relay = fakeRelay(board)
    const p = page(board)
    p.connect(relay)
    p.frame(tilesFrame(relay.commit([{ x: 69, y: 49, color: 4 }])), relay)
    p.changes.length = 0

    // A cooldown change: a config change with nothing to repaint.
    expect(p.state.applyConfig(relay.updateConfig({ ...board, cooldownMs: 5000 }))).toBe(true)
    expect(p.state.config().cooldownMs).toBe(5000)
    expect(p.changes).toEqual([{ damage: { full: false, rects: [] }, configChanged: true }])

    // The same config again (as on every connect) changes nothing.
    expect(p.state.applyConfig(JSON.parse(JSON.stringify(relay.config())))).toBe(true)
    expect(p.changes).toHaveLength(1)

    // A colour appended and the board grown: a larger bitmap keeping every tile where it was.
    const grown = relay.updateConfig({ ...board, cooldownMs: 5000, width: 100, height: 80, palette: [...board.palette, '#123456'] })
    p.deliver(encodeConfig(grown))
    expect(p.changes.at(-1)).toEqual({ damage: { full: true }, configChanged: true })
    expect(p.state.config().palette).toHaveLength(17)
    expect(p.state.bitmap()).toHaveLength(100 * 80)
    expect(p.state.colorAt(69, 49)).toBe(4)
    // Tiles of the grown board, and of the new colour, paint.
    p.frame(tilesFrame(relay.commit([{ x: 99, y: 79, color: 16 }])), relay)
    expect(p.state.colorAt(99, 79)).toBe(16)
    expect(p.state.bitmap()).toEqual(relay.truth())

    // A reconnect brings the same config again: no second change, and the tiles stay.
    const before = p.changes.length
    p.connect(relay)
    expect(p.changes.slice(before).some((c) => c.configChanged)).toBe(false)
    expect(p.state.bitmap()).toEqual(relay.truth())
    expect(p.state.config().width).toBe(100)
  })

  it('ignores a sync answer whose config is older than a Config frame held, and a config that is not one', () => {
    const relay = fakeRelay(board)
    const p = page(board)
    // A socket gets the newest config on connect; the sync answer may have been read before it
    // was committed to the document (here: an older relay document).
    const stale = Y.encodeStateAsUpdate(relay.doc)
    const grown = relay.updateConfig({ ...board, width: 90 })
    p.state.applyConfig(grown)
    expect(p.state.config().width).toBe(90)
    p.state.applySyncAnswer(stale, 'blank')
    expect(p.state.config().width).toBe(90)
    expect(p.state.bitmap()).toHaveLength(90 * board.height)

    for (const bad of [null, 7, [], { ...relay.config(), version: 'x' }, { ...relay.config(), width: -1 }, { version: 9 }]) {
      expect(p.state.applyConfig(bad)).toBe(false)
    }
    const { width: _, ...noWidth } = relay.config()
    expect(p.state.applyConfig({ ...noWidth, version: 10 })).toBe(false)
    expect(p.state.config().width).toBe(90)
    expect(p.state.config().cooldownMs).toBe(0)
  })

  it('skips tile values outside the board', () => {
    const p = page(board)
    p.state.applyTiles([encodeTileValue(70, 0, 3), encodeTileValue(0, 50, 3), encodeTileValue(69, 49, 3)])
    expect(p.state.colorAt(69, 49)).toBe(3)
    expect(p.state.bitmap().reduce((n, c) => n + (c ? 1 : 0), 0)).toBe(1)
    expect(p.changes).toEqual([{ damage: { full: false, rects: [{ x: 69, y: 49, w: 1, h: 1 }] }, configChanged: false }])
  })
})
