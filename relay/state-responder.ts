/**
 * A writer relay's answers to State requests (scaling out: docs/ARCHITECTURE.md): an edge that
 * cannot follow a board's stream from where it is (the stream was trimmed past it, or lost a
 * message) asks on the board's state subject; the writer publishes a State message into the
 * stream (relay/commit-publisher.ts publishState) and replies with its stream sequence, from
 * which the edge follows.
 */
import type { Subscription } from '@nats-io/transport-node'
import type { Logger } from '../node-kit/log.ts'
import { decodeStateRequest, encodeStateReply, streamNames } from '../shared/stream-messages.ts'
import type { CommitPublisher } from './commit-publisher.ts'
import type { HistoryStore } from './history-store.ts'
import type { NatsLink } from './nats-link.ts'
import type { Room } from './room.ts'

/** Subscribes to every board's state subject; returns the unsubscribe. */
export const answerStateRequests = (
  link: NatsLink,
  boards: ReadonlyMap<string, { room: Room; publisher: CommitPublisher }>,
  history: HistoryStore,
  log: Logger,
): (() => void) => {
  const subs: Subscription[] = []
  for (const [board, { room, publisher }] of boards) {
    subs.push(
      link.nc.subscribe(streamNames(board).state, {
        callback: (err, msg) => {
          if (err) return
          const request = decodeStateRequest(msg.data)
          if (!request) {
            msg.respond(encodeStateReply({ ok: false, message: 'not a state request' }))
            return
          }
          log.info(`board ${board}: an edge asks for a State (it holds seq ${request.after}${request.full ? ', needs every record' : ''})`)
          publisher.publishState(room, history, request).then(
            (reply) => msg.respond(encodeStateReply(reply)),
            (e: Error) => msg.respond(encodeStateReply({ ok: false, message: e.message })),
          )
        },
      }),
    )
  }
  return () => {
    for (const s of subs) s.unsubscribe()
  }
}
