/**
 * The exact cold start, client side: paint a snapshot, then follow the relay forward from the
 * snapshot's state vector over a raw WebSocket, without a Y.Doc (update-reader.ts says why that
 * is exact). Works in browsers (globalThis.WebSocket) and in Node 20 (pass the `ws` package):
 * the snapshotter's export uses it with `ws`. Its sockets and timers keep it out of the pure
 * shared/ model; the sidecar it starts from is shared/snapshot-sidecar.ts.
 *
 * Wire (y-protocols sync over y-websocket framing, shared/protocol.ts):
 *   -> [0 Sync, 0 step 1, state vector]           once per connection, from the painted state
 *   <- [0 Sync, 1 step 2, diff]                   everything after that state vector
 *   <- [0 Sync, 2 update, update]                 every later commit
 *   <- [1 Awareness, ...]                         heartbeats: ignored
 * The client never sends document content (the relay closes read/write peers with 4403).
 *
 * The state vector advances only over updates applied without a gap, so a reconnect resumes
 * exactly where the painted bitmap stands.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { DocConfig } from '../shared/doc-schema.ts'
import { MessageType } from '../shared/protocol.ts'
import {
  advanceStateVector,
  applyUpdateToBitmap,
  type BoardBitmap,
  decodeStateVector,
  encodeStateVector,
  type StateVector,
  stateVectorSum,
} from '../shared/update-reader.ts'

/** Timers of any runtime (browser or Node), reached without DOM or Node types so that the module runs in both. */
const timers = globalThis as unknown as {
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

/** y-protocols sync sub-messages. */
const SyncStep = { Step1: 0, Step2: 1, Update: 2 } as const

/** What this module needs of a WebSocket: the part the browser and `ws` have in common. */
export type MinimalSocket = {
  binaryType: string
  readonly readyState: number
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason: string }) => void) | null
  onerror: ((ev: unknown) => void) | null
  send: (data: Uint8Array) => void
  close: (code?: number, reason?: string) => void
}
/** A WebSocket constructor (globalThis.WebSocket, or `ws`'s default export). */
export type SocketConstructor = new (url: string) => MinimalSocket

/** What happened to the board, for a renderer. */
export type BoardEvent =
  | { kind: 'painted'; tiles: number; bases: number }
  | { kind: 'resized'; width: number; height: number }
  | { kind: 'config'; config: DocConfig }
  | { kind: 'synced' }
  | { kind: 'disconnected'; code: number; willRetry: boolean }

export type ColdStartOptions = {
  /** The board's socket: ws(s)://host/ws/<boardId>. */
  url: string
  /** The snapshot's pixels (decoded PNG as color indices), width and height. The bitmap is painted in place. */
  board: BoardBitmap
  /** The snapshot's state vector (the sidecar's `stateVector`, base64-decoded). Empty = from nothing. */
  stateVector: Uint8Array
  /** Defaults to globalThis.WebSocket. */
  WebSocket?: SocketConstructor
  onEvent?: (event: BoardEvent) => void
  /** Milliseconds before the first reconnect; doubles up to 30 s. 0 disables reconnecting. */
  reconnectMs?: number
}

export type BoardFollower = {
  /** The board as painted now (a new object after the board grew). */
  board: () => BoardBitmap
  /** The latest board descriptor seen, or null before one arrived. */
  config: () => DocConfig | null
  /** Whether the current connection has applied its sync step 2. */
  synced: () => boolean
  /** Resolves on the first sync step 2 applied; rejects if the socket closes for good first. */
  whenSynced: Promise<void>
  /** The state vector the bitmap stands at, encoded for a sync step 1 or a sidecar. */
  stateVector: () => Uint8Array
  /** Sum of the state vector's clocks: the snapshot "version" of what is painted now. */
  version: () => number
  /** Closes the socket and stops reconnecting. */
  close: () => void
}

const syncStep1Frame = (sv: StateVector): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Sync)
  encoding.writeVarUint(enc, SyncStep.Step1)
  encoding.writeVarUint8Array(enc, encodeStateVector(sv))
  return encoding.toUint8Array(enc)
}

const toBytes = (data: unknown): Uint8Array | null => {
  if (data instanceof Uint8Array) return data // also Node's Buffer
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return null
}

/** Close codes 4400-4499: the relay says retrying will not help (shared/protocol.ts CloseCode). */
const isFinalClose = (code: number) => code >= 4400 && code <= 4499

/**
 * Paints the snapshot's board forward to the relay's and keeps it current. The returned
 * follower's bitmap equals the relay's board after `whenSynced`, and after every update.
 */
export const followFromSnapshot = (opts: ColdStartOptions): BoardFollower => {
  const Socket = opts.WebSocket ?? (globalThis as { WebSocket?: SocketConstructor }).WebSocket
  if (!Socket) throw new Error('cold start: no WebSocket implementation (pass opts.WebSocket)')
  const emit = opts.onEvent ?? (() => {})
  const baseDelay = opts.reconnectMs ?? 500
  let board = opts.board
  let config: DocConfig | null = null
  const sv = opts.stateVector.length > 0 ? decodeStateVector(opts.stateVector) : new Map<number, number>()
  let socket: MinimalSocket | null = null
  let synced = false
  let closed = false
  let delay = baseDelay
  let retry: unknown = null

  let resolveSynced: () => void = () => {}
  let rejectSynced: (err: Error) => void = () => {}
  const whenSynced = new Promise<void>((resolve, reject) => {
    resolveSynced = resolve
    rejectSynced = reject
  })
  // A caller that never awaits whenSynced must not see an unhandled rejection.
  whenSynced.catch(() => {})

  const apply = (update: Uint8Array) => {
    const before = board
    const result = applyUpdateToBitmap(board, update)
    board = result.board
    advanceStateVector(sv, result.update.ranges)
    if (result.update.config) {
      config = result.update.config
      emit({ kind: 'config', config })
    }
    if (board !== before) emit({ kind: 'resized', width: board.width, height: board.height })
    if (result.update.tiles.length + result.update.bases.length > 0) {
      emit({ kind: 'painted', tiles: result.update.tiles.length, bases: result.update.bases.length })
    }
  }

  const onFrame = (bytes: Uint8Array) => {
    const dec = decoding.createDecoder(bytes)
    if (decoding.readVarUint(dec) !== MessageType.Sync) return // awareness heartbeats, Tessera frames
    const step = decoding.readVarUint(dec)
    if (step === SyncStep.Step2 || step === SyncStep.Update) {
      apply(decoding.readVarUint8Array(dec))
      if (step === SyncStep.Step2 && !synced) {
        synced = true
        delay = baseDelay
        emit({ kind: 'synced' })
        resolveSynced()
      }
    }
    // Step 1 from a server asks for our content: a read-only client has none to give.
  }

  const connect = () => {
    if (closed) return
    const ws = new Socket(opts.url)
    socket = ws
    ws.binaryType = 'arraybuffer'
    ws.onopen = () => ws.send(syncStep1Frame(sv))
    ws.onmessage = (ev) => {
      const bytes = toBytes(ev.data)
      if (!bytes) return
      try {
        onFrame(bytes)
      } catch {
        // A frame we cannot decode leaves the bitmap unknown: start over from our state vector.
        // 4000: our own code, not in 4400-4499, so the close handler reconnects.
        ws.close(4000, 'resync')
      }
    }
    ws.onerror = () => {}
    ws.onclose = (ev) => {
      if (socket !== ws) return
      socket = null
      synced = false
      const willRetry = !closed && baseDelay > 0 && !isFinalClose(ev.code)
      emit({ kind: 'disconnected', code: ev.code, willRetry })
      if (!willRetry) {
        rejectSynced(new Error(`cold start: socket closed (${ev.code} ${ev.reason})`))
        return
      }
      retry = timers.setTimeout(connect, delay)
      delay = Math.min(30_000, delay * 2)
    }
  }
  connect()

  return {
    board: () => board,
    config: () => config,
    synced: () => synced,
    whenSynced,
    stateVector: () => encodeStateVector(sv),
    version: () => stateVectorSum(sv),
    close: () => {
      closed = true
      if (retry) timers.clearTimeout(retry)
      const ws = socket
      socket = null
      ws?.close(1000, 'done')
      rejectSynced(new Error('cold start: closed'))
    },
  }
}
