/**
 * When a socket is taken as lost, and when to ask the relay for a frame. Pure; the connection
 * (client/sync/connection.ts) calls it every HEARTBEAT.tickMs and acts on the answer.
 *
 * A socket whose network is gone may stay "open" for minutes, so the page asks for a frame every
 * queryMs (QueryAwareness, which the relay answers with an empty awareness frame; it also sends
 * Presence every HEARTBEAT_MS). A live socket is lost when nothing arrived for deadlineMs while a
 * query was waiting for its answer for deadlineMs - queryMs: in the foreground a query leaves
 * every queryMs, so that is deadlineMs of silence; in a background tab, whose timers may run once
 * a minute, a last query long ago (answered) is not silence.
 */

/** Liveness of the socket, in ms. */
export const HEARTBEAT = {
  /** How often an open socket asks the relay for a frame (QueryAwareness). */
  queryMs: 2000,
  /** A live socket that received nothing for this long, with a query unanswered, is taken as lost. */
  deadlineMs: 5000,
  /**
   * The same while opening or syncing: a sync answer (hundreds of kB on a busy board) arrives as
   * one frame and nothing else can arrive before it ends, so a slow network needs longer.
   */
  syncDeadlineMs: 20_000,
  /** How often the connection checks. */
  tickMs: 500,
} as const

/** What the connection knows at a tick (times in ms, one clock). */
export type HeartbeatState = {
  now: number
  /** Whether the board is live on this socket (else opening or syncing). */
  live: boolean
  /** Whether the socket is open (a query can be sent). */
  open: boolean
  /** When the socket was created, or its last frame arrived. */
  lastFrameAt: number
  /** When the last query left (or the socket was created). */
  lastQueryAt: number
  /** When the oldest query sent since the last frame left (null: none outstanding). */
  queryOutstandingSince: number | null
}

export type HeartbeatStep = 'drop' | 'query' | 'wait'

export const heartbeatStep = (h: HeartbeatState): HeartbeatStep => {
  if (h.live) {
    const unanswered = h.queryOutstandingSince !== null && h.now - h.queryOutstandingSince >= HEARTBEAT.deadlineMs - HEARTBEAT.queryMs
    if (unanswered && h.now - h.lastFrameAt >= HEARTBEAT.deadlineMs) return 'drop'
  } else if (h.now - h.lastFrameAt > HEARTBEAT.syncDeadlineMs) return 'drop'
  return h.open && h.now - h.lastQueryAt >= HEARTBEAT.queryMs ? 'query' : 'wait'
}
