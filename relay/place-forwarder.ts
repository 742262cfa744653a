/**
 * An edge relay's placements (scaling out: docs/ARCHITECTURE.md): a board's Room.submit on an
 * edge forwards the intent to the writer by NATS request/reply and answers with the writer's
 * PlaceResult once this edge has applied and broadcast the commit that holds it (so that the
 * client sees its tile with the answer, as from the writer), without waiting for this edge's own
 * durable write of it (the writer's is done: relay/commit-queue.ts follow). A writer that does
 * not answer is `unavailable`.
 */

import type { Logger } from '../node-kit/log.ts'
import { PlaceError, type PlaceResult } from '../shared/protocol.ts'
import { decodePlaceReply, encodePlaceRequest, streamNames } from '../shared/stream-messages.ts'
import type { EdgeFollower } from './edge-follower.ts'
import type { NatsLink } from './nats-link.ts'
import type { Room } from './room.ts'

/** Ms an edge waits for the writer's answer (a commit waits on the writer's disk, retried until durable). */
const REPLY_TIMEOUT_MS = 5_000
/** Ms an edge waits to apply the answered commit before answering anyway (the stream lags). */
const APPLY_TIMEOUT_MS = 5_000
/** Seconds a client should wait before trying again while the writer is unreachable. */
const RETRY_AFTER_MS = 1_000

const unreachable = (): PlaceResult => ({
  ok: false,
  error: PlaceError.Unavailable,
  retryAfterMs: RETRY_AFTER_MS,
  message: 'the writer relay is unreachable; try again shortly',
})

/** Room.submit of an edge's room. */
export const createPlaceForwarder =
  (deps: { link: NatsLink; board: string; follower: EdgeFollower; log: Logger }): Room['submit'] =>
  (intent, who, done) => {
    const request = encodePlaceRequest({ x: intent.x, y: intent.y, color: intent.color, id: intent.id, user: who.user, ip: who.ip })
    deps.link.nc.request(streamNames(deps.board).place, request, { timeout: REPLY_TIMEOUT_MS }).then(
      (msg) => {
        const reply = decodePlaceReply(msg.data)
        if (!reply) return done(unreachable())
        if (!reply.result.ok) return done(reply.result)
        deps.follower.whenApplied(reply.seq, APPLY_TIMEOUT_MS).then((applied) => {
          // The writer's answer stands (the placement is durable there); this edge's viewers see it late.
          if (!applied) deps.log.warn(`board ${deps.board}: answered a placement (seq ${reply.seq}) before this edge applied it`)
          done(reply.result)
        })
      },
      () => done(unreachable()),
    )
  }
