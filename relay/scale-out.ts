/**
 * Scaling out over NATS JetStream (issue 16; docs/ARCHITECTURE.md "Scaling out"), wired by
 * role. relay/relay.ts imports this file only when NATS_URL is set, so a single relay loads no
 * NATS code.
 *
 *   writer  publishes each board's commits once durable (relay/commit-publisher.ts), answers
 *           the placements edges forward (relay/place-responder.ts) and their State requests
 *           (relay/state-responder.ts), and refuses placements
 *           (503 unavailable) while it cannot publish: a commit the edges cannot see would be
 *           acknowledged to nobody who can see it, and an unbounded backlog would grow meanwhile.
 *   edge    follows each board's stream into its own rooms (relay/edge-follower.ts), forwards
 *           placements to the writer (relay/place-forwarder.ts), refuses admin calls (503: they
 *           go to the writer).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Logger } from '../node-kit/log.ts'
import { PlaceError, type PlaceResult } from '../shared/protocol.ts'
import { type CommitPublisher, createCommitPublisher } from './commit-publisher.ts'
import type { RelayConfig } from './config.ts'
import { type EdgeFollower, followStream } from './edge-follower.ts'
import type { HistoryStore } from './history-store.ts'
import { send } from './http-util.ts'
import { openNatsLink } from './nats-link.ts'
import { createPlaceForwarder } from './place-forwarder.ts'
import { answerPlacements } from './place-responder.ts'
import type { Room, RoomDeps } from './room.ts'
import { answerStateRequests } from './state-responder.ts'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** Ms an edge waits at start to apply what its boards' streams hold before it serves anyway. */
const EDGE_CATCH_UP_MS = 60_000

export type ScaleOut = {
  role: 'writer' | 'edge'
  /** What openRoom takes for a board in this role. */
  roomOptions: (board: string) => Pick<RoomDeps, 'follower' | 'onDurable'>
  /**
   * Once the rooms are open: a writer publishes what its streams lack and answers placements;
   * an edge follows the streams (resolving once caught up). Replaces each room in `rooms` by one
   * whose placements go through this role.
   */
  start: (rooms: Map<string, Room>, history: HistoryStore) => Promise<void>
  /**
   * Puts this role's HTTP answers ahead of the API's request handler (an edge refuses admin
   * calls). Done on the server rather than by wrapping the handler where relay.ts builds it,
   * so that the entry's wiring stays as it is.
   */
  guardHttp: (server: Server) => void
  /** Stops publishing or following and closes the NATS connection (before the rooms close). */
  close: () => Promise<void>
}

const publishingStalled = (): PlaceResult => ({
  ok: false,
  error: PlaceError.Unavailable,
  retryAfterMs: 1_000,
  message: 'the relay cannot reach NATS; placements resume once it can',
})

export const startScaleOut = async (config: RelayConfig & { nats: NonNullable<RelayConfig['nats']> }, log: Logger): Promise<ScaleOut> => {
  const { role, url } = config.nats
  const limits = { maxAgeMs: config.nats.streamMaxAgeMs, maxBytes: config.nats.streamMaxBytes, enforce: role === 'writer' }
  const link = await openNatsLink({ url, name: `tessera-${role}`, boards: config.boards.map((b) => b.id), limits, log })
  const publishers = new Map<string, CommitPublisher>()
  const followers: EdgeFollower[] = []
  let unsubscribe = () => {}

  const placeThrough = (room: Room, submit: Room['submit']): Room => ({
    ...room,
    submit,
    place: (intent, who) => new Promise((resolve) => submit(intent, who, resolve)),
  })

  return {
    role,
    roomOptions: (board) => {
      if (role === 'edge') return { follower: true }
      const publisher = createCommitPublisher({ board, link, log })
      publishers.set(board, publisher)
      return { onDurable: publisher.durable }
    },
    start: async (rooms, history) => {
      if (role === 'writer') {
        for (const [board, room] of rooms) {
          const publisher = publishers.get(board) as CommitPublisher
          await publisher.start(room, history)
          rooms.set(
            board,
            placeThrough(room, (intent, who, done) => (publisher.stalled() ? done(publishingStalled()) : room.submit(intent, who, done))),
          )
        }
        const byBoard = new Map([...rooms].map(([board, room]) => [board, { room, publisher: publishers.get(board) as CommitPublisher }]))
        const stopPlacements = answerPlacements(link, rooms)
        const stopStates = answerStateRequests(link, byBoard, history, log)
        unsubscribe = () => {
          stopPlacements()
          stopStates()
        }
        return
      }
      for (const [board, room] of rooms) {
        const follower = await followStream({ link, room, history, log })
        followers.push(follower)
        rooms.set(board, placeThrough(room, createPlaceForwarder({ link, board, follower })))
      }
      let timer: ReturnType<typeof setTimeout> | undefined
      const late = await Promise.race([
        Promise.all(followers.map((f) => f.ready)).then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(resolve, EDGE_CATCH_UP_MS, true)
        }),
      ])
      clearTimeout(timer)
      if (late) log.warn(`not caught up with the streams after ${EDGE_CATCH_UP_MS} ms; serving while catching up`)
    },
    guardHttp: (server) => {
      if (role === 'writer') return
      const api = server.listeners('request') as Handler[]
      server.removeAllListeners('request')
      server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        if (/^\/api\/admin(\/|$)/.test(req.url ?? '')) {
          send(res, 503, { ok: false, error: 'unavailable', message: 'this relay is an edge: send admin calls to the writer relay' })
          return
        }
        for (const h of api) h(req, res)
      })
    },
    close: async () => {
      unsubscribe()
      for (const p of publishers.values()) p.close()
      for (const f of followers) await f.close()
      await link.close()
    },
  }
}
