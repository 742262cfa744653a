/**
 * The board's WebSocket, opened with live=tiles: y-websocket's provider syncs the Y.Doc (message
 * 0) on every connect, and Tessera's own frames (shared/protocol.ts) ride on the same socket
 * through the provider's messageHandlers table: Place out; PlaceResult, Presence, Error,
 * Session, Tiles and Config in.
 *
 * live=tiles: after its sync answer the relay sends no Yjs updates (about 19 bytes a placement)
 * but Tiles frames (4 bytes a placement, numbered by history seq) and a Config frame whenever
 * the board's settings change, so the doc only advances with sync answers and the bitmap
 * (client/sync/board-state.ts) is the truth between them. Tiles frames are followed by seq
 * (client/sync/tiles-cursor.ts); a gap in the seqs makes the connection sync again, on the same
 * socket.
 *
 * The provider reconnects by itself with exponential backoff (200 ms, doubling, capped; the cap
 * is drawn per page so that the pages a relay restart dropped together do not keep knocking in
 * step), and stops for good on close codes 4400-4499 (the relay's "retrying will not help":
 * unknown board, forged token, read-only, malformed, rate-limited); it then emits 'closed',
 * reported here as status 'closed'. A drop after the board was live is status 'reconnecting'.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import { WebsocketProvider } from 'y-websocket'
import type * as Y from 'yjs'
import {
  encodePlace,
  LIVE_PARAM,
  LiveMode,
  MessageType,
  type PlaceResult,
  readConfig,
  readError,
  readPlaceResult,
  readSession,
  readTiles,
  TESSERA_PARAM,
} from '../../shared/protocol.ts'
import { followTiles } from './tiles-cursor.ts'

/**
 * connecting: opening the first socket (or retrying before the board was ever live);
 * reconnecting: the socket dropped after the board was live (relay restarting, network gone):
 *   retrying with backoff; the board shown is the last one received;
 * syncing: open, waiting for the relay's sync step 2;
 * live: synced, Tiles frames flow as placements are committed;
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
  /**
   * Tile values (shared/tile-codec.ts) committed since the last ones delivered, to paint in order
   * from values[from]: each seq is delivered once, contiguously after the last sync answer.
   */
  onTiles?: (values: Uint32Array, from: number) => void
  /** The board's document config (JSON as received, unchecked), on every connect and every change. */
  onConfig?: (config: unknown) => void
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
  /** The last history seq painted (from the sync answer and Tiles frames), or null while syncing. */
  cursor: () => number | null
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
    // live=tiles implies tessera=1; it is given anyway, so that the URL says what the page reads.
    params: { [TESSERA_PARAM]: '1', [LIVE_PARAM]: LiveMode.Tiles },
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
  // The last history seq painted; null from every change of socket until the cursor frame after
  // the sync answer (client/sync/tiles-cursor.ts).
  let cursor: number | null = null

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
  handlers[MessageType.Tiles] = (_e, dec) => {
    const { firstSeq, values } = readTiles(dec)
    const step = followTiles(cursor, firstSeq, values.length)
    if (step.kind === 'cursor') cursor = step.cursor
    else if (step.kind === 'gap') resync()
    else if (step.kind === 'apply') {
      cursor = step.cursor
      events.onTiles?.(values, step.from)
    }
  }
  handlers[MessageType.Config] = (_e, dec) => events.onConfig?.(readConfig(dec))

  /**
   * Missed seqs: asks for a sync answer again on the open socket, as the provider does on
   * connect (the relay answers any sync step 1 with an answer and a cursor frame). Not a
   * disconnect: that would report every Place awaiting its answer as lost, and count against
   * the reconnection backoff. Until the new cursor, Tiles frames are ignored (the answer holds
   * them). With the socket not open, the next connect syncs anyway.
   */
  const resync = () => {
    cursor = null
    const ws = provider.ws
    if (!provider.wsconnected || !ws || ws.readyState !== WebSocket.OPEN) return
    const enc = encoding.createEncoder()
    encoding.writeVarUint(enc, MessageType.Sync)
    syncProtocol.writeSyncStep1(enc, doc)
    ws.send(encoding.toUint8Array(enc))
  }

  const failPending = () => {
    for (const resolve of pending.values()) resolve({ kind: 'lost' })
    pending.clear()
  }

  provider.on('status', ({ status: s }) => {
    // A new socket (or none): its seqs follow from its own sync answer.
    cursor = null
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
    cursor: () => cursor,
    destroy: () => {
      failPending()
      provider.destroy()
    },
  }
}
