/**
 * A writer relay's answers to the placements its edges forward (scaling out:
 * docs/ARCHITECTURE.md): each request on a board's place subject is submitted to the board's
 * room like a placement from one of the writer's own sockets, and answered once it is durable
 * and broadcast (or refused), with the history seq the writer's document then holds.
 */
import type { Subscription } from '@nats-io/transport-node'
import { PlaceError } from '../shared/protocol.ts'
import { decodePlaceRequest, encodePlaceReply, streamNames } from '../shared/stream-messages.ts'
import type { NatsLink } from './nats-link.ts'
import type { Room } from './room.ts'

/** Subscribes to every board's place subject; returns the unsubscribe. */
export const answerPlacements = (link: NatsLink, rooms: ReadonlyMap<string, Room>): (() => void) => {
  const subs: Subscription[] = []
  for (const [board, room] of rooms) {
    subs.push(
      link.nc.subscribe(streamNames(board).place, {
        callback: (err, msg) => {
          if (err) return
          const req = decodePlaceRequest(msg.data)
          if (!req) {
            msg.respond(
              encodePlaceReply({
                result: { ok: false, error: PlaceError.BadRequest, message: 'not a place request' },
                seq: room.lastSeq(),
              }),
            )
            return
          }
          const intent =
            req.id === undefined ? { x: req.x, y: req.y, color: req.color } : { x: req.x, y: req.y, color: req.color, id: req.id }
          // Acknowledgements come right after the commit's broadcast: lastSeq() is then that commit's last seq.
          room.submit(intent, { user: req.user, ip: req.ip, isAdmin: false }, (result) => {
            msg.respond(encodePlaceReply({ result, seq: room.lastSeq() }))
          })
        },
      }),
    )
  }
  return () => {
    for (const s of subs) s.unsubscribe()
  }
}
