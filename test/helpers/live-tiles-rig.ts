/**
 * live=tiles sockets in tests (test/integration/live-tiles*.test.ts): frames parsed, a client
 * view as docs/PROTOCOL.md describes it (a bitmap and a cursor, overlapping entries skipped, gaps
 * recorded), and, for one relay, the helpers that open such sockets and place through them.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { expect } from 'vitest'
import * as Y from 'yjs'
import type { Room } from '../../relay/room.ts'
import type { DocConfig } from '../../shared/doc-schema.ts'
import { encodePlace, readConfig, readPlaceResult, readTiles } from '../../shared/frames.ts'
import { MessageType, type PlaceResult } from '../../shared/protocol.ts'
import { decodeTileValue } from '../../shared/tile-codec.ts'
import { applyUpdateToBitmap, type BoardBitmap, growBitmap } from '../../shared/update-reader.ts'
import { sameBytes } from './bytes.ts'
import { openRaw, type RawSocket } from './clients.ts'
import type { TestRelay } from './start-relay.ts'
import { waitFor } from './wait-for.ts'

/** y-protocols sync message types (after MessageType.Sync). */
export const SyncType = { Step1: 0, Step2: 1, Update: 2 } as const

/** Bytes of a lib0 varuint. */
export const varUintBytes = (n: number) => {
  let bytes = 1
  for (let v = n; v >= 128; v = Math.floor(v / 128)) bytes++
  return bytes
}

/** A sync step 1 frame with an empty state vector (a client that holds nothing). */
export const syncStep1 = (): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Sync)
  encoding.writeVarUint(enc, SyncType.Step1)
  encoding.writeVarUint8Array(enc, Y.encodeStateVector(new Y.Doc()))
  return encoding.toUint8Array(enc)
}

export type Frame =
  | { kind: 'config'; config: DocConfig }
  | { kind: 'tiles'; firstSeq: number; values: Uint32Array; bytes: number }
  | { kind: 'sync'; syncType: number; update: Uint8Array }
  | { kind: 'other'; type: number }

export const parseFrame = (bytes: Uint8Array): Frame => {
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
export const body = (frame: Uint8Array) => {
  const dec = decoding.createDecoder(frame)
  decoding.readVarUint(dec)
  return dec
}

export const framesOf = (sock: RawSocket) => sock.frames.map(parseFrame)
export const tilesFrames = (sock: RawSocket) => framesOf(sock).flatMap((f) => (f.kind === 'tiles' ? [f] : []))
export const configFrames = (sock: RawSocket) => framesOf(sock).flatMap((f) => (f.kind === 'config' ? [f.config] : []))
/** Frames that carry Yjs document updates after the first sync (sync type 2). */
export const yjsUpdates = (sock: RawSocket) => framesOf(sock).filter((f) => f.kind === 'sync' && f.syncType === SyncType.Update)

/**
 * A live=tiles client as docs/PROTOCOL.md describes it: a bitmap (no Y.Doc) painted from sync
 * answers and Tiles frames, and a cursor, the last seq it holds. Entries of a Tiles frame up to
 * the cursor are already held (skipped); a frame whose firstSeq is beyond cursor + 1 is
 * a gap (recorded: the tests expect none).
 */
export type TilesView = {
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

export const emptyBoard = (config: DocConfig): BoardBitmap => ({
  bitmap: new Uint8Array(config.width * config.height),
  width: config.width,
  height: config.height,
})

export const tilesView = (sock: RawSocket, start: { board: BoardBitmap; cursor: number } | null = null): TilesView => {
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

export const randomTiles = (n: number, width: number, height: number, seed: number) =>
  Array.from({ length: n }, (_, i) => {
    const k = (seed * 7919 + i * 104_729) >>> 0
    return { x: k % width, y: Math.floor(k / width) % height, color: (i % 15) + 1 }
  })

/** Helpers bound to one test relay (read when called: the relay starts in beforeAll). */
export const liveTilesRig = (relayOf: () => TestRelay, tokenOf: () => string) => {
  const roomOf = (id: string) => relayOf().rooms.get(id) as Room
  const lastSeq = (id: string) => relayOf().stores.history.lastSeq(id)
  /** Waits until the view holds every write the board's history has (and the cursor says so). */
  const caughtUp = async (view: TilesView, id: string) => {
    const last = await lastSeq(id)
    await waitFor(() => view.pump().cursor() === last, { what: `${id}: tiles view at seq ${last}` })
    expect(view.gaps).toEqual([])
    expect(sameBytes(view.board()?.bitmap ?? new Uint8Array(), roomOf(id).bitmap())).toBe(true)
  }

  /** Opens a live=tiles socket, sends sync step 1 and waits for step 2 and the cursor. */
  const syncedTiles = async (id: string) => {
    const sock = await openRaw(`${relayOf().wsBase}/${id}?live=tiles`)
    await waitFor(() => configFrames(sock).length > 0, { what: 'Config frame' })
    sock.send(syncStep1())
    const view = tilesView(sock)
    await waitFor(() => view.pump().cursor() !== null, { what: 'cursor' })
    return view
  }

  /** A raw socket with an identity that places on a board; sends many Place frames at once. */
  const placer = async (id: string, params = '') => {
    const sock = await openRaw(`${relayOf().wsBase}/${id}?token=${tokenOf()}${params}`)
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
  return { roomOf, lastSeq, caughtUp, syncedTiles, placer }
}

/**
 * The relay settings of the live=tiles suites: their sockets send bursts of Place frames (the
 * per-socket message rate is not under test), and one admin chunk holds a whole 20,000-tile fill,
 * so that its commit's frame is over 64 KiB.
 */
export const liveTilesEnv = (adminToken: string): Record<string, string> => ({
  ADMIN_TOKEN: adminToken,
  MESSAGES_PER_SECOND: '100000',
  MESSAGE_BURST: '100000',
  ADMIN_CHUNK_TILES: '20000',
})
