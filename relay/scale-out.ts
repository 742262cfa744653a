/**
 * Scaling out over NATS JetStream (issue 16; docs/ARCHITECTURE.md "Scaling out"), wired by
 * role. relay/relay.ts imports this file only when NATS_URL is set, so a single relay loads no
 * NATS code.
 *
 *   writer  publishes each board's commits once durable (relay/commit-publisher.ts), answers
 *           the placements edges forward (relay/place-responder.ts), and refuses placements
 *           (503 unavailable) while it cannot publish: a commit the edges cannot see would be
 *           acknowledged to nobody who can see it, and an unbounded backlog would grow meanwhile.
 *   edge    follows each board's stream into its own rooms (relay/edge-follower.ts), forwards
 *           placements to the writer (relay/place-forwarder.ts) and admin calls too
 *           (relay/admin-forwarder.ts).
 *           The writer publishes its bans and edges adopt them (relay/ban-exchange.ts).
 *   both    count people across relays (relay/presence-exchange.ts), and start while NATS is
 *           unreachable: they serve what they hold, refuse placements (503), and take up their
 *           role once NATS answers.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Logger } from '../node-kit/log.ts'
import { PlaceError, type PlaceResult } from '../shared/protocol.ts'
import { READ_SUBJECT } from '../shared/stream-messages.ts'
import { createAdminForwarder, isAdminApiRequest, tileReadBoard } from './admin-forwarder.ts'
import { answerAdminCalls } from './admin-responder.ts'
import { followBans, publishBans } from './ban-exchange.ts'
import { type CommitPublisher, createCommitPublisher } from './commit-publisher.ts'
import type { RelayConfig } from './config.ts'
import { type EdgeFollower, followStream } from './edge-follower.ts'
import type { HistoryStore } from './history-store.ts'
import type { Moderation } from './moderation.ts'
import { openNatsLink } from './nats-link.ts'
import { createPlaceForwarder } from './place-forwarder.ts'
import { answerPlacements } from './place-responder.ts'
import { createPresenceExchange } from './presence-exchange.ts'
import type { ReplayAddress } from './replay-address.ts'
import type { RequestLimit } from './request-limit.ts'
import type { Room, RoomDeps } from './room.ts'
import { answerStateRequests } from './state-responder.ts'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** Ms an edge waits at start to apply what its boards' streams hold before it serves anyway. */
const EDGE_CATCH_UP_MS = 60_000

export type ScaleOut = {
  role: 'writer' | 'edge'
  /** What openRoom takes for a board in this role. */
  roomOptions: (board: string) => Pick<RoomDeps, 'follower' | 'onDurable' | 'presence'>
  /**
   * Once the rooms are open: a writer publishes what its streams lack and answers placements;
   * an edge follows the streams (resolving once caught up). Replaces each room in `rooms` by one
   * whose placements go through this role. With NATS unreachable at start, resolves at once and
   * does all that once NATS answers; placements are refused (503) until then.
   */
  start: (rooms: Map<string, Room>, history: HistoryStore, moderation: Moderation) => Promise<void>
  /**
   * Admin calls across relays, once the server exists: an edge's /api/admin/… requests go to the
   * writer (put ahead of the API's request handler: done on the server rather than by wrapping
   * the handler where relay.ts builds it, so that the entry's wiring stays as it is); a writer
   * answers them with its own server. `clientAddress`: an edge sends its client's address with
   * each forwarded request; `addresses`: a writer's replays make its handler see that address.
   */
  guardHttp: (
    server: Server,
    http: {
      clientAddress: (req: IncomingMessage) => string
      addresses: ReplayAddress
      tileReadLimit: RequestLimit
      adminCallLimit: RequestLimit
    },
  ) => void
  /** Stops publishing or following and closes the NATS connection (before the rooms close). */
  close: () => Promise<void>
}

const publishingStalled = (): PlaceResult => ({
  ok: false,
  error: PlaceError.Unavailable,
  retryAfterMs: 1_000,
  message: 'the relay cannot reach NATS; placements resume once it can',
})

/** Ms a relay waits at start for NATS before it starts without it (reachable NATS answers within milliseconds). */
const FIRST_CONNECT_MS = 2_000
/** Ms between two attempts to begin following a board while NATS fails under it. */
const FOLLOW_RETRY_MS = 1_000

export const startScaleOut = async (config: RelayConfig & { nats: NonNullable<RelayConfig['nats']> }, log: Logger): Promise<ScaleOut> => {
  const { role, url } = config.nats
  const limits = { maxAgeMs: config.nats.streamMaxAgeMs, maxBytes: config.nats.streamMaxBytes, enforce: role === 'writer' }
  const link = openNatsLink({ url, name: `tessera-${role}`, boards: config.boards.map((b) => b.id), limits, log })
  // NATS down at start: the relay starts anyway (docs/ARCHITECTURE.md "Scaling out") and takes
  // up its role once NATS answers; meanwhile it serves what it holds and refuses placements.
  let timer: ReturnType<typeof setTimeout> | undefined
  const upAtStart = await Promise.race([
    link.up,
    new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, FIRST_CONNECT_MS, false)
    }),
  ])
  clearTimeout(timer)
  if (!upAtStart) log.warn(`NATS ${url} is not reachable: starting without it; placements are refused (503) until it is`)
  const publishers = new Map<string, CommitPublisher>()
  /** A writer's boards whose stream holds what their history does (placements are taken then). */
  const publishing = new Set<string>()
  const followers: EdgeFollower[] = []
  // Both roles: "N online" counts people across all relays.
  const presence = createPresenceExchange({ link, boards: config.boards.map((b) => b.id), log })
  const unsubscribes: (() => void)[] = []
  /** An edge's rooms, once started: tile reads below a room's history floor go to the writer. */
  let edgeRooms: Map<string, Room> | null = null
  let closed = false
  /** Runs `fn` once the link is up (now, if it is), unless the relay closed first. */
  const whenUp = (what: string, fn: () => Promise<void> | void): Promise<void> =>
    link.up
      .then(async (ok) => {
        if (ok && !closed) await fn()
      })
      .catch((err: Error) => log.error(`${what} failed:`, err.message))

  const placeThrough = (room: Room, submit: Room['submit']): Room => ({
    ...room,
    submit,
    place: (intent, who) => new Promise((resolve) => submit(intent, who, resolve)),
  })

  /** A writer: publishes what the streams lack, then answers the edges' placements. */
  const startWriter = async (rooms: Map<string, Room>, history: HistoryStore, moderation: Moderation) => {
    presence.start()
    unsubscribes.push(publishBans({ link, moderation, log }))
    for (const [board, room] of rooms) {
      await (publishers.get(board) as CommitPublisher).start(room, history)
      publishing.add(board)
    }
    unsubscribes.push(answerPlacements(link, rooms))
    const byBoard = new Map([...rooms].map(([board, room]) => [board, { room, publisher: publishers.get(board) as CommitPublisher }]))
    unsubscribes.push(answerStateRequests(link, byBoard, history, log))
  }

  /** An edge: follows each board's stream (retrying while NATS fails under it); resolves once every board follows. */
  const startEdge = async (
    rooms: Map<string, Room>,
    history: HistoryStore,
    moderation: Moderation,
    forwarders: Map<string, Room['submit']>,
  ) => {
    presence.start()
    unsubscribes.push(followBans({ link, moderation, rooms, log }))
    for (const [board, room] of rooms) {
      for (;;) {
        if (closed) return
        try {
          const follower = await followStream({ link, room, history, log })
          followers.push(follower)
          forwarders.set(board, createPlaceForwarder({ link, board, follower, log }))
          break
        } catch (err) {
          if (upAtStart) throw err
          log.warn(`board ${board}: cannot follow its stream yet (${(err as Error).message}); trying again`)
          await new Promise((resolve) => setTimeout(resolve, FOLLOW_RETRY_MS))
        }
      }
    }
  }

  return {
    role,
    roomOptions: (board) => {
      if (role === 'edge') return { follower: true, presence: presence.board(board) }
      const publisher = createCommitPublisher({ board, link, log })
      publishers.set(board, publisher)
      return { onDurable: publisher.durable, presence: presence.board(board) }
    },
    start: async (rooms, history, moderation) => {
      if (role === 'writer') {
        for (const [board, room] of rooms) {
          const publisher = publishers.get(board) as CommitPublisher
          rooms.set(
            board,
            placeThrough(room, (intent, who, done) =>
              !publishing.has(board) || publisher.stalled() ? done(publishingStalled()) : room.submit(intent, who, done),
            ),
          )
        }
        if (upAtStart) await startWriter(rooms, history, moderation)
        else void whenUp('publishing the streams', () => startWriter(rooms, history, moderation))
        return
      }
      edgeRooms = rooms
      const forwarders = new Map<string, Room['submit']>()
      for (const [board, room] of rooms) {
        rooms.set(
          board,
          placeThrough(room, (intent, who, done) => {
            const forward = forwarders.get(board)
            if (forward) forward(intent, who, done)
            else done(publishingStalled())
          }),
        )
      }
      if (!upAtStart) {
        void whenUp('following the streams', () => startEdge(rooms, history, moderation, forwarders))
        return
      }
      await startEdge(rooms, history, moderation, forwarders)
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
    guardHttp: (server, { clientAddress, addresses, tileReadLimit, adminCallLimit }) => {
      if (role === 'writer') {
        void whenUp('answering admin calls', () => {
          unsubscribes.push(answerAdminCalls({ link, server, addresses, log }))
        })
        return
      }
      const api = server.listeners('request') as Handler[]
      const forwardAdmin = createAdminForwarder({ link, maxBodyBytes: config.maxBodyBytes, clientAddress })
      const forwardRead = createAdminForwarder({ link, maxBodyBytes: config.maxBodyBytes, subject: READ_SUBJECT, clientAddress })
      /** A tile read of a board whose history here starts after the writer's (a bootstrapped edge). */
      const readBelowFloor = (req: IncomingMessage) => {
        const board = tileReadBoard(req.method, req.url)
        return board !== null && (edgeRooms?.get(board)?.historyFrom() ?? 0) > 0
      }
      server.removeAllListeners('request')
      server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        const forward = isAdminApiRequest(req.url) ? forwardAdmin : readBelowFloor(req) ? forwardRead : null
        if (!forward) {
          for (const h of api) h(req, res)
          return
        }
        // A read or an admin call forwarded to the writer counts against its address here, before
        // it leaves (the writer does not count it again: relay/request-limit.ts).
        if (!(forward === forwardRead ? tileReadLimit : adminCallLimit).admit(req, res)) return
        forward(req, res).catch((err: Error) => {
          log.error('forwarding a request to the writer failed:', err.message)
          if (!res.headersSent) res.writeHead(500)
          res.end()
        })
      })
    },
    close: async () => {
      closed = true
      presence.close()
      for (const u of unsubscribes) u()
      for (const p of publishers.values()) p.close()
      for (const f of followers) await f.close()
      await link.close()
    },
  }
}
