/**
 * One WebSocket on one board: decodes frames, answers sync requests, refuses document content,
 * forwards placement intents, and enforces the per-socket message rate.
 */

import type { Duplex } from 'node:stream'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { WebSocket } from 'ws'
import * as syncProtocol from 'y-protocols/sync'
import {
  CloseCode,
  encodeConfig,
  encodeError,
  encodePlaceResult,
  encodePresence,
  encodeSession,
  encodeTiles,
  LiveMode,
  MessageType,
  readPlace,
} from '../shared/protocol.ts'
import { TOKEN_REFUSAL } from './identity.ts'
import type { Logger } from './log.ts'
import { createBucket } from './rate-limit.ts'
import type { Placer, Room, RoomConn } from './room.ts'
import { writeMessages } from './ws-frame.ts'

/** An awareness update that names no client: valid for any y-protocols peer, changes nothing. */
const EMPTY_AWARENESS = (() => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Awareness)
  encoding.writeVarUint8Array(enc, new Uint8Array([0]))
  return encoding.toUint8Array(enc)
})()

const RATE_LIMITED = { ok: false, error: 'rate-limited', retryAfterMs: 1000, message: 'too many placements from this address' } as const

export type ConnectionOptions = {
  room: Room
  /** The upgraded TCP socket under `ws` (a commit's frames are written to it directly). */
  socket: Duplex
  placer: Placer | null
  /** When the socket's token expires (ms): its placements are refused from then on. Null: anonymous. */
  tokenExpiresAt: number | null
  /** The client asked for Tessera's own frames (Presence, Session); implied by live=tiles. */
  tessera: boolean
  /** How commits reach this socket. */
  live: LiveMode
  /** live=tiles: the last history seq the client holds (it resumes after it), or null. */
  since: number | null
  messagesPerSecond: number
  messageBurst: number
  /** Per-address placement budget (across identities and sockets); false = refuse with rate-limited. */
  allowPlacement: (ip: string, now: number) => boolean
  log: Logger
  now: () => number
}

/**
 * Closes a socket with a named code; the close reason is the error code. Sockets that opted in to
 * Tessera's frames (`tessera=1`) first get an Error frame with a readable message (an unmodified
 * y-websocket provider would log an unknown message type for it).
 */
export const closeWith = (ws: WebSocket, tessera: boolean, code: number, error: string, message: string) => {
  if (ws.readyState !== ws.OPEN) return
  if (tessera) ws.send(encodeError(error, message))
  ws.close(code, error)
}

/** Wires a socket to a room. Returns the function the heartbeat calls. */
export const attachConnection = (ws: WebSocket, opts: ConnectionOptions): { heartbeat: () => void } => {
  const { room, placer, log } = opts
  // While a resuming socket's catch-up is read from history, what the room sends it waits here,
  // so that the catch-up goes first (the client drops what overlaps by seq).
  let held: Uint8Array[] | null = null
  const sendNow = (frame: Uint8Array) => {
    if (ws.readyState === ws.OPEN) ws.send(frame)
  }
  // Between cork and uncork (a commit's broadcast and acknowledgements) frames gather here and
  // leave in one write (relay/ws-frame.ts).
  let outbox: Uint8Array[] | null = null
  const conn: RoomConn = {
    tessera: opts.tessera,
    live: opts.live,
    send: (frame) => {
      if (held) held.push(frame)
      else if (outbox) outbox.push(frame)
      else sendNow(frame)
    },
    cork: () => {
      outbox ??= []
    },
    uncork: () => {
      const frames = outbox
      outbox = null
      if (frames && frames.length > 0 && ws.readyState === ws.OPEN) writeMessages(opts.socket, frames)
    },
  }
  room.addConn(conn)
  if (opts.tessera) {
    conn.send(encodeSession(placer?.user ?? '', placer ? room.nextPlaceAt(placer.user) : 0))
    conn.send(encodePresence(room.online()))
  }
  const tiles = opts.live === LiveMode.Tiles
  if (tiles) conn.send(encodeConfig(room.docConfig()))
  if (tiles && opts.since !== null) {
    held = []
    room
      .catchUp(opts.since)
      // Too far behind (or a seq this board never reached): the whole board instead.
      .then((frame) => (frame ? [frame] : fullSync(new Uint8Array([0]))))
      .then(
        (answer) => {
          const waiting = held ?? []
          held = null
          for (const f of [...answer, ...waiting]) sendNow(f)
        },
        // A failed read or full sync: never an unhandled rejection, never a socket held forever.
        (err: Error) => {
          log.error('resume failed', err.message)
          held = null
          closeWith(ws, true, CloseCode.GoingAway, 'unavailable', 'the relay could not read its history')
        },
      )
  }

  /** A sync step 2 answer, and for live=tiles sockets the cursor after it. */
  const fullSync = async (stateVector: Uint8Array): Promise<Uint8Array[]> => {
    const { frame, seq } = await room.syncStep2(stateVector)
    return tiles ? [frame, encodeTiles(seq + 1, [])] : [frame]
  }

  const bucket = createBucket(opts.messagesPerSecond, opts.messageBurst, opts.now())
  let alive = true

  ws.on('pong', () => {
    alive = true
  })
  ws.on('close', () => room.removeConn(conn))
  ws.on('error', (err) => log.debug('socket error', err.message))
  ws.on('message', (data, isBinary) => {
    if (!bucket.take(opts.now())) {
      closeWith(ws, opts.tessera, CloseCode.RateLimited, 'rate-limited', `more than ${opts.messagesPerSecond} messages per second`)
      return
    }
    if (!isBinary) {
      closeWith(ws, opts.tessera, CloseCode.Malformed, 'malformed', 'frames must be binary')
      return
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
    try {
      handleFrame(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    } catch (err) {
      log.debug('malformed frame', (err as Error).message)
      closeWith(ws, opts.tessera, CloseCode.Malformed, 'malformed', 'the frame could not be decoded')
    }
  })

  const handleFrame = (bytes: Uint8Array) => {
    const dec = decoding.createDecoder(bytes)
    const type = decoding.readVarUint(dec)
    switch (type) {
      case MessageType.Sync: {
        const syncType = decoding.readVarUint(dec)
        if (syncType === syncProtocol.messageYjsSyncStep1) {
          const sv = decoding.readVarUint8Array(dec)
          fullSync(sv).then(
            (frames) => {
              for (const f of frames) conn.send(f)
            },
            () => {
              closeWith(ws, opts.tessera, CloseCode.Malformed, 'malformed', 'the state vector could not be decoded')
            },
          )
        } else if (syncType === syncProtocol.messageYjsSyncStep2 || syncType === syncProtocol.messageYjsUpdate) {
          const update = decoding.readVarUint8Array(dec)
          if (room.hasForeignContent(update)) {
            closeWith(ws, opts.tessera, CloseCode.ReadOnly, 'read-only', 'the board document is read-only: place tiles with Place intents')
          }
          // An update holding nothing new (a read-only peer answering our state) is ignored.
        } else {
          throw new Error(`unknown sync message ${syncType}`)
        }
        return
      }
      case MessageType.Awareness:
        // Not fanned out (N^2 traffic); presence is counted by the relay instead.
        decoding.readVarUint8Array(dec)
        return
      case MessageType.QueryAwareness:
        conn.send(EMPTY_AWARENESS)
        return
      case MessageType.Auth:
        return
      case MessageType.Place: {
        const frame = readPlace(dec)
        if (!placer) {
          conn.send(
            encodePlaceResult(frame.requestId, { ok: false, error: 'unauthorized', message: 'no identity: POST /api/session first' }),
          )
          return
        }
        // A socket outlives its token's check at connect: a farm must not keep expired identities
        // placing through sockets it never closes.
        if (opts.tokenExpiresAt !== null && opts.now() >= opts.tokenExpiresAt) {
          conn.send(encodePlaceResult(frame.requestId, { ok: false, error: 'unauthorized', message: TOKEN_REFUSAL.expired }))
          return
        }
        if (!opts.allowPlacement(placer.ip, opts.now())) {
          conn.send(encodePlaceResult(frame.requestId, RATE_LIMITED))
          return
        }
        room.submit({ x: frame.x, y: frame.y, color: frame.color }, placer, (result) => {
          conn.send(encodePlaceResult(frame.requestId, result))
        })
        return
      }
      default:
        throw new Error(`unknown message type ${type}`)
    }
  }

  return {
    heartbeat: () => {
      if (!alive) {
        ws.terminate()
        return
      }
      alive = false
      ws.ping()
      // y-websocket's provider drops a socket that received no message for 30 s.
      if (!opts.tessera) conn.send(EMPTY_AWARENESS)
    },
  }
}
