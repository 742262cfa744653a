/**
 * Bans across relays (scaling out: docs/ARCHITECTURE.md): the writer holds the bans (admin calls
 * reach it, through edges too) and publishes its whole list on BANS_SUBJECT when it changes
 * (checked every CHECK_MS) and every HEARTBEAT_MS (so that an edge that starts learns it). An
 * edge makes its own moderation's bans equal to the list and, when that changed anything, sends
 * its sockets their Session frames again: a banned identity's pages on an edge say so, as on the
 * writer. Placements never depended on this: the writer refuses a banned one whichever edge it
 * came through.
 */
import type { Logger } from '../node-kit/log.ts'
import { BANS_SUBJECT, type BanEntry, decodeBans, encodeBans } from '../shared/stream-messages.ts'
import type { Moderation } from './moderation.ts'
import type { NatsLink } from './nats-link.ts'
import type { Room } from './room.ts'

/** Ms between two looks at the writer's bans for a change. */
const CHECK_MS = 1_000
/** Ms between two publications of an unchanged list. */
const HEARTBEAT_MS = 10_000
/** Bytes kept free under NATS's max_payload; a longer list is not published (said once). */
const HEADROOM_BYTES = 4 * 1024
/** NATS's default max_payload (bytes), if the server did not say. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024

const keyOf = (b: { kind: string; target: string }) => `${b.kind}\u0000${b.target}`

/** The writer's side: returns the stop. */
export const publishBans = (deps: { link: NatsLink; moderation: Moderation; log: Logger }): (() => void) => {
  let last = ''
  let lastAt = 0
  let tooLongSaid = false
  const look = () => {
    if (!deps.link.connected()) return
    const bytes = encodeBans(deps.moderation.bans())
    const text = Buffer.from(bytes).toString('latin1')
    const now = Date.now()
    if (text === last && now - lastAt < HEARTBEAT_MS) return
    const max = (deps.link.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - HEADROOM_BYTES
    if (bytes.length > max) {
      if (!tooLongSaid) deps.log.warn(`the bans list (${bytes.length} bytes) exceeds one NATS message: edges keep their last copy`)
      tooLongSaid = true
      return
    }
    tooLongSaid = false
    deps.link.nc.publish(BANS_SUBJECT, bytes)
    last = text
    lastAt = now
  }
  look()
  const timer = setInterval(look, CHECK_MS)
  return () => clearInterval(timer)
}

/** An edge's side: returns the unsubscribe. */
export const followBans = (deps: { link: NatsLink; moderation: Moderation; rooms: Map<string, Room>; log: Logger }): (() => void) => {
  // One list at a time, in arrival order (each is the writer's whole list).
  let applying = Promise.resolve()
  const adopt = async (bans: BanEntry[]) => {
    const wanted = new Map(bans.map((b) => [keyOf(b), b]))
    const held = new Map(deps.moderation.bans().map((b) => [keyOf(b), b]))
    let changed = false
    for (const [key, b] of held) {
      const w = wanted.get(key)
      if (w && w.reason === b.reason) continue
      await deps.moderation.unban(b.kind, b.target)
      changed = true
    }
    for (const [key, b] of wanted) {
      const h = held.get(key)
      if (h && h.reason === b.reason) continue
      await deps.moderation.ban(b)
      changed = true
    }
    if (changed) for (const room of deps.rooms.values()) room.refreshSessions()
  }
  const sub = deps.link.nc.subscribe(BANS_SUBJECT, {
    callback: (err, msg) => {
      if (err) return
      const bans = decodeBans(msg.data)
      if (!bans) return deps.log.error(`a message on ${BANS_SUBJECT} is not a list of bans (skipped)`)
      applying = applying.then(
        () => adopt(bans),
        () => adopt(bans),
      )
      applying.catch((e: Error) => deps.log.error('adopting the writer bans failed:', e.message))
    },
  })
  return () => sub.unsubscribe()
}
