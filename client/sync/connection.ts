/**
 * The board's WebSocket: a small client of the relay's protocol (live=tiles&tessera=1, shared/
 * protocol.ts), without y-websocket or a Y.Doc. Board frames (sync answers, Tiles, Config) go to
 * client/sync/board-sync.ts, which decides what each connect asks for (a sync step 1 with a
 * snapshot's state vector, the empty one, or since=<cursor>) and paints the board state; the
 * rest is handled here: Place out; PlaceResult, Presence, Error and Session in.
 *
 * Noticing a dead connection: a socket whose network is gone may stay "open" for minutes. So the
 * page asks the relay for a frame every 2 s and takes a live socket silent for 5 s as lost:
 * closed, and replaced with backoff (client/sync/heartbeat.ts says exactly when). The
 * browser's offline event drops it at once; its online event retries at once.
 *
 * Reconnecting: with backoff (client/sync/backoff.ts), forever, except after close codes
 * 4400-4499 (the relay's "retrying will not help": unknown board, forged token, read-only,
 * malformed, rate-limited): status 'closed' until reconnect().
 */
import * as decoding from 'lib0/decoding'
import { encodePlace, readError, readPlaceResult, readSession } from '../../shared/frames.ts'
import { LIVE_PARAM, LiveMode, MessageType, type PlaceResult, SINCE_PARAM, TESSERA_PARAM } from '../../shared/protocol.ts'
import { backoffDelay, drawBackoffCap } from './backoff.ts'
import type { BoardSync } from './board-sync.ts'
import { HEARTBEAT, heartbeatStep } from './heartbeat.ts'

/**
 * connecting: opening the first socket (or retrying before the board was ever live);
 * reconnecting: the socket dropped after the board was live (relay restarting, network gone):
 *   retrying with backoff; the board shown is the last one received;
 * offline: the browser says it has no network; retrying all the same, and at once when it says
 *   it is back;
 * syncing: open, waiting for the relay's answer;
 * live: up to date, Tiles frames flow as placements are committed;
 * closed: the relay refused us for a reason retrying cannot fix (see closedReason).
 */
export type ConnectionStatus = 'connecting' | 'reconnecting' | 'offline' | 'syncing' | 'live' | 'closed'

/** Why the relay closed the socket for good: its close code and the Error frame sent before it. */
export type CloseReason = { code: number; error: string; message: string }

/** The answer to a Place, or 'lost' when the socket dropped before the relay answered. */
export type PlaceOutcome = { kind: 'answered'; result: PlaceResult; receivedAt: number } | { kind: 'lost' }

/** Our own close code when we drop a socket (not in 4400-4499: it means "retry"). */
const DROP_CODE = 4000

export type ConnectionEvents = {
  onStatus?: (status: ConnectionStatus) => void
  /** People connected to the board (Presence). */
  onPresence?: (online: number) => void
  /** Who this socket is ('' = anonymous) and when it may place next (relay ms; 0 = now). Sent on every (re)connect. */
  onSession?: (session: { user: string; nextPlaceAt: number; banned: string | null }) => void
  /** A board frame was handled (the board may have changed, the cursor may have moved). */
  onBoardFrame?: () => void
}

export type Connection = {
  status: () => ConnectionStatus
  closedReason: () => CloseReason | null
  /**
   * Sends a Place frame with placement id `id` (a retry after 'lost' sends the same id, and the
   * relay answers it with its first outcome). Resolves with the relay's answer, or 'lost' if the
   * socket drops first.
   */
  place: (x: number, y: number, color: number, id: string) => Promise<PlaceOutcome>
  /** Whether a Place can be sent now (the socket is open and the board live). */
  canSend: () => boolean
  /** Opens a socket again now (after 'closed', or to present a renewed identity). */
  reconnect: () => void
  /**
   * reconnect() for a live page that just got an identity (a cookie the open socket did not
   * present): the status stays 'live' while the new socket resumes from the cursor, unless it
   * fails to become live (then the usual statuses follow).
   */
  handOver: () => void
  /** Time (ms, browser clock) of the last frame received while live, or null if never live. */
  lastLiveAt: () => number | null
  destroy: () => void
}

/** What the connection needs of its surroundings (the browser's, by default). */
export type ConnectionEnv = {
  WebSocket: typeof WebSocket
  now: () => number
  online: () => boolean
  /** Subscribes to the browser's online/offline events; returns an unsubscribe. */
  onNetwork: (listener: (online: boolean) => void) => () => void
}

export const browserEnv = (): ConnectionEnv => ({
  WebSocket,
  now: Date.now,
  online: () => navigator.onLine !== false,
  onNetwork: (listener) => {
    const on = () => listener(true)
    const off = () => listener(false)
    window.addEventListener('online', on)
    window.addEventListener('offline', off)
    return () => {
      window.removeEventListener('online', on)
      window.removeEventListener('offline', off)
    }
  },
})

const QUERY_AWARENESS = new Uint8Array([MessageType.QueryAwareness])

/** The URL of a board's live=tiles socket, resuming after `since` when it is not null. */
export const boardSocketUrl = (wsBase: string, boardId: string, since: number | null): string => {
  const params = new URLSearchParams({ [TESSERA_PARAM]: '1', [LIVE_PARAM]: LiveMode.Tiles })
  if (since !== null) params.set(SINCE_PARAM, String(since))
  return `${wsBase}/${encodeURIComponent(boardId)}?${params}`
}

/**
 * `protocols`: the WebSocket subprotocols each new socket offers. An embed holds its token in
 * memory (no cookie) and offers [WS_PROTOCOL, WS_TOKEN_PROTOCOL_PREFIX + token]
 * (client/embed/board-embed.ts); asked at each open, so a token set later is presented on the
 * next socket. None (the app): the cookie identifies the socket.
 */
export const createConnection = (
  wsBase: string,
  boardId: string,
  sync: BoardSync,
  events: ConnectionEvents = {},
  env: ConnectionEnv = browserEnv(),
  protocols: () => string[] | undefined = () => undefined,
): Connection => {
  const backoffCap = drawBackoffCap(Math.random())
  let status: ConnectionStatus = 'connecting'
  let wasLive = false
  let closedReason: CloseReason | null = null
  let lastError: { code: string; message: string } | null = null
  let socket: WebSocket | null = null
  let attempts = 0
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  let destroyed = false
  let lastFrameAt = 0
  let lastQueryAt = 0
  // When the oldest query sent since the last frame left (null: none outstanding).
  let queryOutstandingSince: number | null = null
  let liveAt: number | null = null
  let nextRequestId = 1
  const pending = new Map<number, (outcome: PlaceOutcome) => void>()

  // The status the page was last told: during a hand-over (handOver below) the socket's own
  // status goes through connecting and syncing while the page keeps 'live'.
  let reported: ConnectionStatus = status
  let handedOver: WebSocket | null = null
  let handingOver = false
  const setStatus = (next: ConnectionStatus) => {
    // Compared with what the page was told too: a hand-over may have kept it from hearing `status`.
    if (next === status && next === reported) return
    if (next === 'live') wasLive = true
    status = next
    if (handingOver && (next === 'connecting' || next === 'reconnecting' || next === 'syncing')) return
    handingOver = false
    if (reported === next) return
    reported = next
    events.onStatus?.(next)
  }
  /** The status while there is no usable socket. */
  const waiting = (): ConnectionStatus => (!env.online() ? 'offline' : wasLive ? 'reconnecting' : 'connecting')

  const failPending = () => {
    for (const resolve of pending.values()) resolve({ kind: 'lost' })
    pending.clear()
  }

  const url = (since: number | null) => boardSocketUrl(wsBase, boardId, since)

  const scheduleRetry = (delayMs: number) => {
    if (retryTimer !== null || destroyed) return
    retryTimer = setTimeout(() => {
      retryTimer = null
      open()
    }, delayMs)
  }

  /** The socket is gone (closed by either side, or dropped by us): report, and retry unless final. */
  const gone = (ws: WebSocket, code: number, reason: string) => {
    if (socket !== ws) return
    socket = null
    // The new socket of a hand-over failed: the page hears of it.
    if (handingOver && ws !== handedOver) handingOver = false
    failPending()
    if (code >= 4400 && code <= 4499) {
      closedReason = { code, error: lastError?.code ?? reason, message: lastError?.message ?? reason }
      setStatus('closed')
      return
    }
    if (status === 'live') liveAt = env.now()
    setStatus(waiting())
    scheduleRetry(backoffDelay(attempts++, backoffCap))
  }

  /** Closes a socket we no longer trust (silent, offline) and handles it as gone at once. */
  const drop = (why: string) => {
    const ws = socket
    if (!ws) return
    ws.onclose = null
    ws.onmessage = null
    ws.onerror = null
    try {
      ws.close(DROP_CODE, why)
    } catch {
      // Closing a socket that never opened can throw in some browsers; it is abandoned anyway.
    }
    gone(ws, DROP_CODE, why)
  }

  const onFrame = (bytes: Uint8Array) => {
    const dec = decoding.createDecoder(bytes)
    const type = decoding.readVarUint(dec)
    switch (type) {
      case MessageType.Sync:
      case MessageType.Tiles:
      case MessageType.Config: {
        const reply = sync.frame(type, dec)
        if (reply) socket?.send(reply)
        if (sync.current()) {
          if (status !== 'live') attempts = 0
          setStatus('live')
        } else if (status === 'live') setStatus('syncing')
        events.onBoardFrame?.()
        return
      }
      case MessageType.PlaceResult: {
        const { requestId, result } = readPlaceResult(dec)
        const resolve = pending.get(requestId)
        pending.delete(requestId)
        resolve?.({ kind: 'answered', result, receivedAt: env.now() })
        return
      }
      case MessageType.Presence:
        events.onPresence?.(decoding.readVarUint(dec))
        return
      case MessageType.Session:
        events.onSession?.(readSession(dec))
        return
      case MessageType.Error:
        // Usually just before a close; remembered so that the close can say why.
        lastError = readError(dec)
        return
      default:
        // Awareness answers to our heartbeat queries, and anything newer than this client.
        return
    }
  }

  const open = () => {
    if (destroyed || socket) return
    const plan = sync.connect()
    const offered = protocols()
    const ws = offered ? new env.WebSocket(url(plan.since), offered) : new env.WebSocket(url(plan.since))
    socket = ws
    // An Error frame explains the close of its own socket only.
    lastError = null
    ws.binaryType = 'arraybuffer'
    lastFrameAt = env.now()
    lastQueryAt = lastFrameAt
    queryOutstandingSince = null
    setStatus(waiting())
    ws.onopen = () => {
      setStatus('syncing')
      if (plan.send) ws.send(plan.send)
    }
    ws.onmessage = (ev: MessageEvent) => {
      if (socket !== ws) return
      lastFrameAt = env.now()
      queryOutstandingSince = null
      if (status === 'live') liveAt = lastFrameAt
      if (!(ev.data instanceof ArrayBuffer)) return
      try {
        onFrame(new Uint8Array(ev.data))
      } catch {
        // A frame we cannot read leaves the board unknown: start over on a new socket.
        drop('unreadable frame')
      }
    }
    ws.onerror = () => {}
    ws.onclose = (ev: CloseEvent) => gone(ws, ev.code, ev.reason)
  }

  // The heartbeat (client/sync/heartbeat.ts): ask for a frame every queryMs; give up on a
  // socket that went silent.
  const ticker = setInterval(() => {
    const ws = socket
    if (!ws) return
    const now = env.now()
    const step = heartbeatStep({ now, live: status === 'live', open: ws.readyState === 1, lastFrameAt, lastQueryAt, queryOutstandingSince })
    if (step === 'drop') drop('no frame within the heartbeat deadline')
    else if (step === 'query') {
      lastQueryAt = now
      queryOutstandingSince ??= now
      ws.send(QUERY_AWARENESS)
    }
  }, HEARTBEAT.tickMs)

  const unsubscribeNetwork = env.onNetwork((online) => {
    if (!online) {
      // Said at once, whatever the socket still believes.
      drop('the browser went offline')
      setStatus('offline')
      return
    }
    // Back online: try now rather than at the end of a long backoff.
    if (status === 'closed') return
    attempts = 0
    if (retryTimer !== null) {
      clearTimeout(retryTimer)
      retryTimer = null
    }
    // A socket opened while offline may hang unopened until its deadline: replace it now.
    if (socket && status !== 'live') drop('the browser is back online')
    if (retryTimer !== null) {
      clearTimeout(retryTimer)
      retryTimer = null
    }
    if (!socket) open()
  })

  open()

  const connection: Connection = {
    status: () => reported,
    closedReason: () => closedReason,
    canSend: () => socket !== null && socket.readyState === 1 && status === 'live',
    place: (x, y, color, id) => {
      const ws = socket
      if (ws?.readyState !== 1) return Promise.resolve({ kind: 'lost' })
      const requestId = nextRequestId++
      return new Promise((resolve) => {
        pending.set(requestId, resolve)
        ws.send(encodePlace({ requestId, x, y, color, id }))
      })
    },
    handOver: () => {
      if (status !== 'live' || !socket) return connection.reconnect()
      handingOver = true
      handedOver = socket
      connection.reconnect()
      // A new socket that is not live within the heartbeat deadline is a lost connection like
      // any other: the page hears the truth then.
      setTimeout(() => {
        if (!handingOver || destroyed) return
        handingOver = false
        if (reported !== status) {
          reported = status
          events.onStatus?.(status)
        }
      }, HEARTBEAT.deadlineMs)
    },
    reconnect: () => {
      closedReason = null
      lastError = null
      attempts = 0
      if (retryTimer !== null) {
        clearTimeout(retryTimer)
        retryTimer = null
      }
      if (socket) drop('reconnecting')
      // drop() scheduled the first retry (200 ms away): open now instead.
      if (retryTimer !== null) {
        clearTimeout(retryTimer)
        retryTimer = null
      }
      attempts = 0
      open()
    },
    lastLiveAt: () => (status === 'live' ? env.now() : liveAt),
    destroy: () => {
      destroyed = true
      clearInterval(ticker)
      unsubscribeNetwork()
      if (retryTimer !== null) clearTimeout(retryTimer)
      drop('destroyed')
    },
  }
  return connection
}
