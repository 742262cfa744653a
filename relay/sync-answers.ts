/**
 * Shared sync answers: a board's answer to a state vector is encoded once and its bytes shared by
 * every socket that sends the same state vector, however many ask and however often.
 *
 * Why: encoding a full-state answer costs the whole document (about 1 MB and tens of ms on a
 * painted 1000 x 1000 board), while asking for one costs a client 4 bytes. Encoded per request,
 * that made sync step 1 an amplifier (issue 11: 40 non-reading sockets took a relay from 155 MB to
 * 1.2 GB in 10 s). Shared, the bytes exist once however many sockets hold them in their buffers.
 *
 * An answer stays valid while the board moves on: commits after it are appended to it as the very
 * frames the room broadcast for them (a Yjs update frame for live=yjs sockets, Config and Tiles
 * frames for live=tiles sockets), so an answer is the encoded base followed by the concatenation
 * of the commits since, never a lossy merge: a client applies exactly what a client connected at
 * the base's moment received. Once those commits outweigh a quarter of the base (or 64 KiB), the
 * entry is dropped and the next request encodes a fresh base.
 *
 * A base with commits after it is only served while encoding a fresh one would be too frequent:
 * within ENCODE_SPACING times the base's own encoding time since it was encoded. So encoding
 * answers takes at most about 1/ENCODE_SPACING of the relay's thread however many ask, and a
 * client asking when nobody else does gets a fresh answer: its sync step 2 is the board as it is
 * (some clients, such as the snapshotter's catch-up, act on the state at sync step 2).
 *
 * The empty state vector (a fresh client) is always kept; other state vectors (common ones: every
 * client that cold-started from the same snapshot sends that snapshot's) share a few LRU places.
 * Pure: no I/O and no clock.
 */

import { encodeTiles } from '../shared/frames.ts'
import { LiveMode } from '../shared/protocol.ts'

/** What one broadcast of durable commits sent to the sockets of each live mode (relay/fan-out.ts). */
export type CommitFrames = {
  /** The commits' Yjs update frames (live=yjs sockets), in order; none if they changed no document content. */
  yjs: readonly Uint8Array[]
  /** Config and Tiles frames in the order live=tiles sockets received them. */
  tiles: readonly Uint8Array[]
}

export type SyncAnswers = {
  /**
   * The frames answering `stateVector` for a socket of mode `live` at `now` (ms), or null: none
   * is cached, or a fresh one should be encoded.
   */
  get: (stateVector: Uint8Array, live: LiveMode, now: number) => Uint8Array[] | null
  /**
   * Caches `frame` (a sync step 2 answering `stateVector`, holding history up to `seq`), encoded
   * at `now` in `encodeMs`.
   */
  put: (stateVector: Uint8Array, frame: Uint8Array, seq: number, now: number, encodeMs: number) => void
  /** Durable commits were broadcast: appends them to every cached answer. */
  commit: (frames: CommitFrames) => void
  /** Cached answers now (diagnostics and tests). */
  size: () => number
  /**
   * Forgets every cached answer: an edge whose history got a hole (relay/room-follow.ts), after
   * which no cached answer's Tiles frames continue its cursor.
   */
  clear: () => void
}

type Entry = {
  base: Uint8Array
  /** live=tiles: the cursor after the base (the next seq the socket expects). */
  cursor: Uint8Array
  yjsTail: Uint8Array[]
  tilesTail: Uint8Array[]
  tailBytes: number
  encodedAt: number
  encodeMs: number
}

/** Encoding answers may take about 1/ENCODE_SPACING of the thread (see the header). */
const ENCODE_SPACING = 10

/** A state vector naming no client (a fresh Y.Doc's, as a y-websocket provider sends it). */
const isEmpty = (sv: Uint8Array) => sv.length === 1 && sv[0] === 0

/** Bytes of appended commits below which an entry is always kept, whatever its base's size. */
const MIN_TAIL_BYTES = 64 * 1024

export const createSyncAnswers = (opts: { maxEntries?: number } = {}): SyncAnswers => {
  const maxEntries = opts.maxEntries ?? 8
  let empty: Entry | null = null
  // Keyed by the state vector's bytes as a latin1 string; Map order is the LRU order.
  const others = new Map<string, Entry>()
  const keyOf = (sv: Uint8Array) => Buffer.from(sv.buffer, sv.byteOffset, sv.byteLength).toString('latin1')

  const framesOf = (e: Entry, live: LiveMode): Uint8Array[] =>
    live === LiveMode.Tiles ? [e.base, e.cursor, ...e.tilesTail] : [e.base, ...e.yjsTail]

  const outgrown = (e: Entry) => e.tailBytes > Math.max(MIN_TAIL_BYTES, e.base.length / 4)
  /** Served as is: nothing happened since it was encoded, or a new encoding would come too soon. */
  const servable = (e: Entry, now: number) => e.tailBytes === 0 || now - e.encodedAt < ENCODE_SPACING * e.encodeMs

  return {
    clear: () => {
      empty = null
      others.clear()
    },
    get: (sv, live, now) => {
      if (isEmpty(sv)) return empty && servable(empty, now) ? framesOf(empty, live) : null
      const key = keyOf(sv)
      const e = others.get(key)
      if (!e || !servable(e, now)) return null
      others.delete(key)
      others.set(key, e)
      return framesOf(e, live)
    },
    put: (sv, frame, seq, now, encodeMs) => {
      const entry: Entry = {
        base: frame,
        cursor: encodeTiles(seq + 1, []),
        yjsTail: [],
        tilesTail: [],
        tailBytes: 0,
        encodedAt: now,
        encodeMs,
      }
      if (isEmpty(sv)) {
        empty = entry
        return
      }
      const key = keyOf(sv)
      others.delete(key)
      others.set(key, entry)
      while (others.size > maxEntries) others.delete(others.keys().next().value as string)
    },
    commit: (frames) => {
      const apply = (e: Entry): boolean => {
        for (const f of frames.yjs) e.yjsTail.push(f)
        for (const f of frames.tiles) e.tilesTail.push(f)
        e.tailBytes += frames.yjs.reduce((n, f) => n + f.length, 0) + frames.tiles.reduce((n, f) => n + f.length, 0)
        return !outgrown(e)
      }
      if (empty && !apply(empty)) empty = null
      for (const [key, e] of others) if (!apply(e)) others.delete(key)
    },
    size: () => (empty ? 1 : 0) + others.size,
  }
}
