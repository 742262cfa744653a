/**
 * The board's WebSocket: y-websocket's provider keeps the Y.Doc synced (message 0), and
 * Tessera's own frames (shared/protocol.ts) ride on the same socket through the provider's
 * messageHandlers table: Place out, PlaceResult, Presence, Error and Session in.
 *
 * The provider reconnects by itself with exponential backoff (200 ms, doubling, capped; the cap
 * is drawn per page so that the pages a relay restart dropped together do not keep knocking in
 * step), and stops for good on close codes 4400-4499 (the relay's "retrying will not help":
 * unknown board, forged token, read-only, malformed, rate-limited); it then emits 'closed',
 * reported here as status 'closed'. A drop after the board was live is status 'reconnecting'.
 */
import * as decoding from 'lib0/decoding'
import { WebsocketProvider } from 'y-websocket'
import type * as Y from 'yjs'
import {
  encodePlace,
  MessageType,
  type PlaceResult,
  readError,
  readPlaceResult,
  readSession,
  TESSERA_PARAM,
} from '../../shared/protocol.ts'

/**
 * connecting: opening the first socket (or retrying before the board was ever live);
 * reconnecting: the socket dropped after the board was live (relay restarting, network gone):
 *   retrying with backoff; the board shown is the last one received;
 * syncing: open, waiting for the relay's sync step 2;
 * live: synced, updates flow as they are committed;
 * closed: the relay refused us for a reason retrying cannot fix (see closedReason).
 */
export type ConnectionStatus = 'connecting' | 'reconnecting' | 'syncing' | 'live' | 'closed'

/** Why the relay closed the socket for good: its close code and the Error frame sent before it. */
export type CloseReason = { code: number; error: string; message: string }

/** The answer to a Place, or 'lost' when the socket dropped before the relay answered. */
export type PlaceOutcome = { kind: 'answered'; result: PlaceResult; receivedAt: number } | { kind: 'lost' }

export type ConnectionEvents = {
  onStatus?: (status: ConnectionStatus) => void
  /** People connected to the board (Presence). */
  onPresence?: (online: number) => void
  /** Who this socket is ('' = anonymous) and when it may place next (relay ms; 0 = now). Sent on every (re)connect. */
  onSession?: (session: { user: string; nextPlaceAt: number }) => void
}

export type Connection = {
  status: () => ConnectionStatus
  closedReason: () => CloseReason | null
  /** Sends a Place frame. Resolves with the relay's answer, or 'lost' if the socket drops first. */
  place: (x: number, y: number, color: number) => Promise<PlaceOutcome>
  /** Whether a Place can be sent now (the socket is open). */
  canSend: () => boolean
  /** Opens the socket again after a 'closed' status (e.g. after getting a fresh identity). */
  reconnect: () => void
  destroy: () => void
}

/**
 * The provider's longest wait between attempts is drawn in [MIN_BACKOFF_CAP_MS, 2 x that): when a
 * relay restarts, all its pages lose their sockets at the same instant, and a common cap would
 * have them retry in lockstep against the relay that is starting.
 */
const MIN_BACKOFF_CAP_MS = 2000

/** Handler signature of y-websocket 3.1's provider.messageHandlers (src/y-websocket.js). */
type MessageHandler = (
  encoder: unknown,
  decoder: decoding.Decoder,
  provider: WebsocketProvider,
  emitSynced: boolean,
  messageType: number,
) => void

/**
 * Connects `doc` to board `boardId` at `wsBase` (e.g. "wss://host/ws"). The doc must stay
 * untouched by the page: every local write would be sent to the relay, which closes with 4403.
 */
export const createConnection = (wsBase: string, boardId: string, doc: Y.Doc, events: ConnectionEvents = {}): Connection => {
  const provider = new WebsocketProvider(wsBase, boardId, doc, {
    params: { [TESSERA_PARAM]: '1' },
    // Each tab keeps its own socket: cross-tab BroadcastChannel sync would let one tab's document
    // feed another's, and it brings nothing to a read-only client.
    disableBc: true,
    maxBackoffTime: MIN_BACKOFF_CAP_MS + Math.floor(Math.random() * MIN_BACKOFF_CAP_MS),
  })
  // The relay neither fans out nor needs awareness; announcing none keeps the socket quiet.
  provider.awareness.setLocalState(null)

  let status: ConnectionStatus = 'connecting'
  // Whether the board was live once: a drop after that is a reconnection, and says so.
  let wasLive = false
  const retrying = (): ConnectionStatus => (wasLive ? 'reconnecting' : 'connecting')
  let closedReason: CloseReason | null = null
  let lastError: { code: string; message: string } | null = null
  let nextRequestId = 1
  const pending = new Map<number, (outcome: PlaceOutcome) => void>()

  const setStatus = (next: ConnectionStatus) => {
    if (next === status) return
    if (next === 'live') wasLive = true
    status = next
    events.onStatus?.(status)
  }

  const handlers = provider.messageHandlers as unknown as MessageHandler[]
  handlers[MessageType.PlaceResult] = (_e, dec) => {
    const { requestId, result } = readPlaceResult(dec)
    const resolve = pending.get(requestId)
    pending.delete(requestId)
    resolve?.({ kind: 'answered', result, receivedAt: Date.now() })
  }
  handlers[MessageType.Presence] = (_e, dec) => events.onPresence?.(decoding.readVarUint(dec))
  handlers[MessageType.Session] = (_e, dec) => events.onSession?.(readSession(dec))
  handlers[MessageType.Error] = (_e, dec) => {
    // Usually just before a close; remembered so that the close can say why.
    lastError = readError(dec)
  }

  const failPending = () => {
    for (const resolve of pending.values()) resolve({ kind: 'lost' })
    pending.clear()
  }

  provider.on('status', ({ status: s }) => {
    if (s === 'connecting') setStatus(retrying())
    else if (s === 'connected') setStatus(provider.synced ? 'live' : 'syncing')
    else {
      failPending()
      if (status !== 'closed') setStatus(retrying())
    }
  })
  provider.on('sync', (synced: boolean) => {
    if (synced) setStatus('live')
  })
  provider.on('closed', ({ code, reason }) => {
    failPending()
    closedReason = { code, error: lastError?.code ?? reason, message: lastError?.message ?? reason }
    setStatus('closed')
  })
  provider.on('connection-close', () => {
    // Fires before 'closed' and before the backoff; any answer still owed is lost with the socket.
    failPending()
  })

  return {
    status: () => status,
    closedReason: () => closedReason,
    canSend: () => provider.wsconnected && provider.ws?.readyState === WebSocket.OPEN,
    place: (x, y, color) => {
      const ws = provider.ws
      if (!provider.wsconnected || !ws || ws.readyState !== WebSocket.OPEN) return Promise.resolve({ kind: 'lost' })
      const requestId = nextRequestId++
      return new Promise((resolve) => {
        pending.set(requestId, resolve)
        ws.send(encodePlace({ requestId, x, y, color }))
      })
    },
    reconnect: () => {
      closedReason = null
      lastError = null
      provider.connect()
    },
    destroy: () => {
      failPending()
      provider.destroy()
    },
  }
}
