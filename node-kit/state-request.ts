/**
 * A State request (scaling out: docs/ARCHITECTURE.md), for any follower of a board's stream (an
 * edge relay, a stream-following snapshotter): asks the writer, by NATS request/reply on the
 * board's state subject, to publish a State message, and resolves the writer's reply; retried
 * while the writer does not answer (it is down, or NATS is), as long as `stopped()` is false
 * (then null).
 */
import type { NatsConnection } from '@nats-io/transport-node'
import { decodeStateReply, encodeStateRequest, type StateRequest, streamNames } from '../shared/stream-messages.ts'
import type { Logger } from './log.ts'

/** Ms a follower waits for the writer's reply: it comes once the State is in the stream (a large one goes in many parts). */
const STATE_TIMEOUT_MS = 60_000
/** Ms between two attempts while the writer does not answer. */
const RETRY_MS = 1_000

/** `nc`: the connection, read at each attempt (a relay's link throws before it is up). */
export const requestStateOver = async (
  nc: () => Pick<NatsConnection, 'request'>,
  board: string,
  request: StateRequest,
  stopped: () => boolean,
  log: Logger,
): Promise<{ streamSeq: number; docSeq: number } | null> => {
  let said = false
  while (!stopped()) {
    const reply = await Promise.resolve()
      .then(() => nc().request(streamNames(board).state, encodeStateRequest(request), { timeout: STATE_TIMEOUT_MS }))
      .then((m) => decodeStateReply(m.data))
      .catch((err: Error) => ({ ok: false as const, message: err.message }))
    if (reply?.ok) return { streamSeq: reply.streamSeq, docSeq: reply.docSeq }
    if (!said) log.warn(`board ${board}: the writer gave no State (${reply?.message ?? 'not a state reply'}); asking again`)
    said = true
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
  }
  return null
}
