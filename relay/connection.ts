/**
 * One WebSocket on one board: decodes frames, answers sync requests, refuses document content,
 * forwards placement intents, and enforces the per-socket message rate.
 */

import type { Duplex } from 'node:stream'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { WebSocket } from 'ws'
import * as syncProtocol from 'y-protocols/sync'
import type { Logger } from '../node-kit/log.ts'
import { encodeConfig, encodeError, encodePlaceResult, encodePresence, encodeSession, readPlace } from '../shared/frames.ts'
import { CloseCode, LiveMode, MessageType } from '../shared/protocol.ts'
import type { AnswerBudget } from './answer-budget.ts'
import { TOKEN_REFUSAL } from './identity.ts'
import { createBucket } from './rate-limit.ts'
import type { Placer, Room, RoomConn } from './room.ts'
import { type OutFrame, writeMessages } from './ws-frame.ts'

/** An awareness update that names no client: valid for any y-protocols peer, changes nothing. */
const EMPTY_AWARENESS = (() => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Awareness)
  encoding.writeVarUint8Array(enc, new Uint8Array([0]))
  return encoding.toUint8Array(enc)
})()

/** An answer's messages in order; a message given as an array is sent as its fragments. */
type Answer = ReadonlyArray<Uint8Array | readonly Uint8Array[]>

/** The state vector of an empty document: asks for the whole board. */
const EMPTY_STATE_VECTOR = new Uint8Array([0])

/** How long a socket closed for being too far behind may take to read its close frame, ms. */
const TOO_FAR_BEHIND_GRACE_MS = 5000

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
  /** live=yjs: cursor frames after the sync answer and each commit (CURSORS_PARAM). */
  cursors: boolean
  messagesPerSecond: number
  messageBurst: number
  /** The key of per-address budgets: the client address as relay/ip-address.ts limitKey gives it. */
  ip: string
  /** Bytes of sync and resume answers per address (relay/answer-budget.ts). */
  answerBudget: AnswerBudget
  /**
   * Most bytes of live frames this socket may leave unread in the relay's buffers (on top of an
   * answer it is reading) before it is closed with TooFarBehind.
   */
  maxBacklogBytes: number
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
  let closed = false
  // Bytes of the answer this socket is reading, allowed on top of maxBacklogBytes.
  let answerBytes = 0
  const tooFarBehind = () => {
    if (opts.socket.writableLength <= opts.maxBacklogBytes + answerBytes || ws.readyState !== ws.OPEN) return
    log.debug('socket too far behind', opts.socket.writableLength)
    closeWith(ws, opts.tessera, CloseCode.TooFarBehind, 'too-far-behind', 'the socket left too many frames unread')
    // The close frame waits behind everything unread; a reader that slow is not waited for.
    setTimeout(() => ws.terminate(), TOO_FAR_BEHIND_GRACE_MS).unref()
  }
  const sendNow = (frame: Uint8Array) => {
    if (ws.readyState !== ws.OPEN) return
    ws.send(frame)
    tooFarBehind()
  }
  /**
   * Sends one message given in fragments (a resume: a small head, then a view of bytes shared with
   * other sockets). All in one turn: nothing else can be framed between the fragments.
   */
  const sendFragments = (parts: readonly Uint8Array[]) => {
    if (ws.readyState !== ws.OPEN) return
    for (let i = 0; i < parts.length; i++) ws.send(parts[i] as Uint8Array, { binary: true, fin: i === parts.length - 1 })
    tooFarBehind()
  }
  // Between cork and uncork (a commit's acknowledgements, with its broadcast when that leaves at
  // once) frames gather here and leave in one write (relay/ws-frame.ts).
  let outbox: OutFrame[] | null = null
  const conn: RoomConn = {
    tessera: opts.tessera,
    user: opts.tessera && placer ? placer.user : null,
    live: opts.live,
    cursors: opts.cursors && opts.live === LiveMode.Yjs,
    // The address as bans match it (the placer's, not the per-address limit key).
    ip: placer?.ip ?? opts.ip,
    send: (frame) => {
      if (held) held.push(frame)
      else if (outbox) outbox.push(frame)
      else sendNow(frame)
    },
    sendFramed: (framed, payloads) => {
      // A resuming socket keeps the payloads for after its catch-up (sent one by one then).
      if (held) for (const p of payloads) held.push(p)
      else if (outbox) outbox.push({ framed })
      else if (ws.readyState === ws.OPEN) {
        opts.socket.write(framed)
        tooFarBehind()
      }
    },
    cork: () => {
      outbox ??= []
    },
    uncork: () => {
      const frames = outbox
      outbox = null
      if (frames && frames.length > 0 && ws.readyState === ws.OPEN) {
        writeMessages(opts.socket, frames)
        tooFarBehind()
      }
    },
  }
  room.addConn(conn)
  if (opts.tessera) {
    conn.send(placer ? room.sessionFrame(placer.user, placer.ip) : encodeSession('', 0))
    conn.send(encodePresence(room.online()))
  }
  const tiles = opts.live === LiveMode.Tiles

  // Sync and resume answers leave one at a time (issue 11: answers cost the relay megabytes and a
  // client a few bytes). A socket is sent no new answer before it has read the previous one (the
  // socket no longer needs draining); a request arriving meanwhile replaces any earlier one that
  // is still waiting; and each answer waits for its address's byte budget.
  let answering = false
  /** Ends an answer's wait for its address's budget (set while it waits). */
  let wakeOnClose: (() => void) | null = null
  let nextAnswer: (() => Promise<Answer>) | null = null
  const drained = () =>
    new Promise<void>((resolve) => {
      if (closed || !opts.socket.writableNeedDrain) return resolve()
      const done = () => {
        opts.socket.off('drain', done)
        opts.socket.off('close', done)
        resolve()
      }
      opts.socket.on('drain', done)
      opts.socket.on('close', done)
    })
  const answer = (produce: () => Promise<Answer>) => {
    if (answering) {
      nextAnswer = produce
      return
    }
    answering = true
    void (async () => {
      try {
        for (let wait = opts.answerBudget.delayMs(opts.ip, opts.now()); wait > 0; wait = opts.answerBudget.delayMs(opts.ip, opts.now())) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait)
            // A close ends the wait at once: no timer outlives its socket.
            wakeOnClose = () => {
              clearTimeout(timer)
              resolve()
            }
          })
          wakeOnClose = null
          if (closed) return
        }
        const frames = await produce()
        if (closed) return
        let bytes = 0
        for (const f of frames) bytes += Array.isArray(f) ? f.reduce((n, p) => n + p.length, 0) : (f as Uint8Array).length
        opts.answerBudget.charge(opts.ip, bytes, opts.now())
        answerBytes = bytes
        const waiting = held ?? []
        held = null
        for (const f of frames) {
          if (Array.isArray(f)) sendFragments(f)
          else sendNow(f as Uint8Array)
        }
        for (const f of waiting) sendNow(f)
        await drained()
        answerBytes = 0
      } catch (err) {
        // A state vector that cannot be decoded, or a failed history read: never an unhandled
        // rejection, never a socket held forever.
        if (held) {
          log.error('resume failed', (err as Error).message)
          held = null
          closeWith(ws, true, CloseCode.GoingAway, 'unavailable', 'the relay could not read its history')
        } else {
          closeWith(ws, opts.tessera, CloseCode.Malformed, 'malformed', 'the state vector could not be decoded')
        }
      } finally {
        answering = false
        const next = nextAnswer
        nextAnswer = null
        if (next && !closed) answer(next)
      }
    })()
  }

  if (tiles) conn.send(encodeConfig(room.docConfig()))
  if (tiles && opts.since !== null) {
    const since = opts.since
    held = []
    // Too far behind (or a seq this board never reached): the whole board instead.
    answer(async () => {
      const fragments = await room.catchUp(since)
      return fragments ? [fragments] : room.syncAnswer(EMPTY_STATE_VECTOR, opts.live)
    })
  }

  const bucket = createBucket(opts.messagesPerSecond, opts.messageBurst, opts.now())
  let alive = true

  ws.on('pong', () => {
    alive = true
  })
  ws.on('close', () => {
    closed = true
    nextAnswer = null
    held = null
    wakeOnClose?.()
    room.removeConn(conn)
  })
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
          // A copy: the frame's buffer is ws's, and the answer may wait its turn.
          const sv = decoding.readVarUint8Array(dec).slice()
          answer(() => room.syncAnswer(sv, opts.live, conn.cursors))
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
        room.submit({ x: frame.x, y: frame.y, color: frame.color, id: frame.id }, placer, (result) => {
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
