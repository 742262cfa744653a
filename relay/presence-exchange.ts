/**
 * Presence across relays (scaling out: docs/ARCHITECTURE.md): "N online" counts the distinct
 * identities with a page open on a board at the writer and at every edge, not at one relay.
 * Each relay publishes its people on each board (Presence messages: identity hashes, in as many
 * messages as the server's max_payload needs: shared/presence-parts.ts) to the board's presence
 * subject every HEARTBEAT_MS and, coalesced, soon after one joins or leaves; each keeps the
 * others' latest whole publication until EXPIRY_MS after it came (a relay that died stops
 * counting then; one that stops says so with an empty set; a publication that lost a message
 * changes nothing). The count is the size of the union, kept as each identity's number of relays
 * so that reading it is O(1) (it is read at every socket's join).
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Subscription } from '@nats-io/transport-node'
import type { Logger } from '../node-kit/log.ts'
import { createPresenceAssembler, presenceHashesPerMessage, splitPresence } from '../shared/presence-parts.ts'
import { decodePresenceMessage, encodePresenceMessage, PRESENCE_HASH_BYTES, streamNames } from '../shared/stream-messages.ts'
import type { NatsLink } from './nats-link.ts'

/** Ms between two Presence messages of a relay (per board), changes or not. */
const HEARTBEAT_MS = 3_000
/** Ms after which another relay's people stop counting unless it spoke again: ~3 heartbeats. */
const EXPIRY_MS = 3 * HEARTBEAT_MS + 1_000
/** Ms within which joins and leaves are coalesced into one Presence message. */
const COALESCE_MS = 1_000
/** NATS's default max_payload (bytes), if the server did not say. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024

/** One board's presence across relays, as its room's sockets (relay/room-sockets.ts) use it. */
export type BoardPresence = {
  /** What to call when the count changes by other relays' news (the room sends Presence, coalesced). */
  bind: (remoteChanged: () => void) => void
  /** An identity's first page on this board opened at this relay. */
  joined: (user: string) => void
  /** An identity's last page on this board at this relay closed. */
  left: (user: string) => void
  /** Distinct identities with the board open across this relay and the others alive. */
  people: () => number
}

export type PresenceExchange = {
  board: (id: string) => BoardPresence
  /** Subscribes and starts the heartbeats (once NATS is reachable). */
  start: () => void
  /** Tells the others this relay's people are gone, and stops. */
  close: () => void
}

/** An identity's hash as a map key (PRESENCE_HASH_BYTES bytes as latin1 characters). */
const hashOf = (user: string): string => createHash('sha256').update(user).digest().subarray(0, PRESENCE_HASH_BYTES).toString('latin1')

type Remote = { keys: Set<string>; extra: number; expiresAt: number }

type BoardState = {
  subject: string
  /** This relay's people: identity -> hash key. */
  local: Map<string, string>
  remote: Map<string, Remote>
  /** Every hash key across this relay and the others, with the number of relays that have it. */
  union: Map<string, number>
  /** People counted but not named (a relay of before parts, with more than its one message named). */
  extra: number
  /** Other relays' publications in progress (parts). */
  incoming: ReturnType<typeof createPresenceAssembler>
  /** This relay's publications on the board so far (each a new round). */
  rounds: number
  remoteChanged: () => void
  publishTimer: ReturnType<typeof setTimeout> | null
}

export const createPresenceExchange = (deps: { link: NatsLink; boards: readonly string[]; log: Logger }): PresenceExchange => {
  const { link, log } = deps
  /** This relay's id on the presence subjects, new at each start. */
  const self = randomBytes(8).toString('hex')
  const boards = new Map<string, BoardState>()
  for (const id of deps.boards) {
    boards.set(id, {
      subject: streamNames(id).presence,
      local: new Map(),
      remote: new Map(),
      union: new Map(),
      extra: 0,
      incoming: createPresenceAssembler(),
      rounds: 0,
      remoteChanged: () => {},
      publishTimer: null,
    })
  }
  let started = false
  let closed = false
  const subs: Subscription[] = []
  let heartbeat: ReturnType<typeof setInterval> | null = null

  const add = (b: BoardState, key: string) => b.union.set(key, (b.union.get(key) ?? 0) + 1)
  const remove = (b: BoardState, key: string) => {
    const n = (b.union.get(key) ?? 1) - 1
    if (n > 0) b.union.set(key, n)
    else b.union.delete(key)
  }
  const count = (b: BoardState) => b.union.size + b.extra

  const publish = (b: BoardState, goodbye = false) => {
    if (b.publishTimer) clearTimeout(b.publishTimer)
    b.publishTimer = null
    if (!started || !link.connected()) return
    const hashes: Uint8Array[] = []
    if (!goodbye) for (const key of b.local.values()) hashes.push(Buffer.from(key, 'latin1'))
    const perMessage = presenceHashesPerMessage(link.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD)
    try {
      // Core NATS keeps one publisher's order to each subscriber: a round's messages arrive in order, or some not at all.
      for (const m of splitPresence({ relay: self, round: ++b.rounds, hashes }, perMessage))
        link.nc.publish(b.subject, encodePresenceMessage(m))
    } catch (err) {
      // The connection closed meanwhile: the next heartbeat after a reconnect says it again.
      log.warn(`presence on ${b.subject} not published:`, (err as Error).message)
    }
  }
  const publishSoon = (b: BoardState) => {
    if (b.publishTimer || !started) return
    b.publishTimer = setTimeout(() => publish(b), COALESCE_MS)
    b.publishTimer.unref()
  }

  /** Replaces a relay's set (null: drops it); tells the room if the count changed. */
  const setRemote = (b: BoardState, relay: string, next: Remote | null) => {
    const before = count(b)
    const prev = b.remote.get(relay)
    if (prev) {
      for (const key of prev.keys) if (!next?.keys.has(key)) remove(b, key)
      b.extra -= prev.extra
    }
    if (next) {
      for (const key of next.keys) if (!prev?.keys.has(key)) add(b, key)
      b.extra += next.extra
      b.remote.set(relay, next)
    } else b.remote.delete(relay)
    if (count(b) !== before) b.remoteChanged()
  }

  const expire = () => {
    const now = Date.now()
    for (const b of boards.values()) {
      for (const [relay, r] of b.remote) {
        if (r.expiresAt > now) continue
        setRemote(b, relay, null)
        b.incoming.forget(relay)
      }
    }
  }

  return {
    board: (id) => {
      const b = boards.get(id)
      if (!b) throw new Error(`presence: no board ${id}`)
      return {
        bind: (remoteChanged) => {
          b.remoteChanged = remoteChanged
        },
        joined: (user) => {
          if (b.local.has(user)) return
          const key = hashOf(user)
          b.local.set(user, key)
          add(b, key)
          publishSoon(b)
        },
        left: (user) => {
          const key = b.local.get(user)
          if (key === undefined) return
          b.local.delete(user)
          remove(b, key)
          publishSoon(b)
        },
        people: () => count(b),
      }
    },
    start: () => {
      if (started || closed) return
      started = true
      for (const b of boards.values()) {
        subs.push(
          link.nc.subscribe(b.subject, {
            callback: (err, msg) => {
              if (err || closed) return
              const m = decodePresenceMessage(msg.data)
              if (!m || m.relay === self) return
              // A relay's people change only with its whole publication (all its parts).
              const whole = b.incoming.add(m)
              if (!whole) return
              const known = b.remote.has(whole.relay)
              if (whole.total === 0) setRemote(b, whole.relay, null)
              else
                setRemote(b, whole.relay, {
                  keys: new Set(whole.hashes.map((h) => Buffer.from(h).toString('latin1'))),
                  extra: whole.total - whole.hashes.length,
                  expiresAt: Date.now() + EXPIRY_MS,
                })
              // A relay new to this one learns this relay's people soon, not at the next heartbeat.
              if (!known && whole.total > 0) publishSoon(b)
            },
          }),
        )
        publish(b)
      }
      heartbeat = setInterval(() => {
        expire()
        for (const b of boards.values()) publish(b)
      }, HEARTBEAT_MS)
      heartbeat.unref()
    },
    close: () => {
      if (closed) return
      for (const b of boards.values()) publish(b, true)
      closed = true
      if (heartbeat) clearInterval(heartbeat)
      for (const b of boards.values()) if (b.publishTimer) clearTimeout(b.publishTimer)
      for (const s of subs) s.unsubscribe()
    },
  }
}
