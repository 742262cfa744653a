/**
 * Bans across relays (scaling out: docs/ARCHITECTURE.md): the writer holds the bans (admin calls
 * reach it, through edges too) and publishes its whole list on BANS_SUBJECT soon after it changes
 * (Moderation.onBansChange, coalesced over COALESCE_MS) and every HEARTBEAT_MS (so that an edge
 * that starts learns it). A list larger than one NATS message (the server's max_payload) goes in
 * parts (shared/stream-parts.ts, as the stream's large messages do). An edge makes its own
 * moderation's bans equal to a list only once it holds every part of it (a half list would unban
 * whoever is in the other half) and, when that changed anything, sends its sockets their Session
 * frames again: a banned identity's pages on an edge say so, as on the writer. Placements never
 * depended on this: the writer refuses a banned one whichever edge it came through.
 */
import { randomBytes } from 'node:crypto'
import type { Logger } from '../node-kit/log.ts'
import { BANS_SUBJECT, type BanEntry, decodeBans, encodeBans } from '../shared/stream-messages.ts'
import { createPartAssembler, decodePart, isPart, PART_HEADROOM_BYTES, splitMessage } from '../shared/stream-parts.ts'
import type { Moderation } from './moderation.ts'
import type { NatsLink } from './nats-link.ts'
import type { Room } from './room.ts'

/** Ms within which changes are coalesced into one publication (a script banning many at once sends the list once or twice). */
const COALESCE_MS = 100
/** Ms between two publications of an unchanged list. */
const HEARTBEAT_MS = 10_000
/** Ms before trying again while NATS is down at a change. */
const RETRY_MS = 1_000
/** NATS's default max_payload (bytes), if the server did not say. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024

/** The writer's side: returns the stop. */
export const publishBans = (deps: { link: NatsLink; moderation: Moderation; log: Logger }): (() => void) => {
  /** This start's tag in part set ids: a set id names one publication of one writer start. */
  const tag = randomBytes(4).toString('hex')
  let sent = 0
  let stopped = false
  let soon: ReturnType<typeof setTimeout> | null = null
  const publish = () => {
    if (soon) clearTimeout(soon)
    soon = null
    if (stopped) return
    if (!deps.link.connected()) {
      later(RETRY_MS)
      return
    }
    const bytes = encodeBans(deps.moderation.bans())
    const pieceBytes = (deps.link.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - PART_HEADROOM_BYTES
    const parts = splitMessage(bytes, pieceBytes, `${tag}:${++sent}`)
    try {
      // Core NATS keeps one publisher's order to each subscriber: the parts arrive in order, or some not at all.
      for (const p of parts ?? [bytes]) deps.link.nc.publish(BANS_SUBJECT, p)
    } catch (err) {
      deps.log.warn(`bans not published (${(err as Error).message}); trying again`)
      later(RETRY_MS)
    }
  }
  const later = (ms: number) => {
    if (soon || stopped) return
    soon = setTimeout(publish, ms)
    soon.unref()
  }
  deps.moderation.onBansChange(() => later(COALESCE_MS))
  publish()
  const heartbeat = setInterval(publish, HEARTBEAT_MS)
  heartbeat.unref()
  return () => {
    stopped = true
    clearInterval(heartbeat)
    if (soon) clearTimeout(soon)
  }
}

/** An edge's side: returns the unsubscribe. */
export const followBans = (deps: { link: NatsLink; moderation: Moderation; rooms: Map<string, Room>; log: Logger }): (() => void) => {
  // One list at a time, in arrival order (each is the writer's whole list).
  let applying = Promise.resolve()
  const adopt = async (bans: BanEntry[]) => {
    if (await deps.moderation.replaceBans(bans)) for (const room of deps.rooms.values()) room.refreshSessions()
  }
  // A list in parts: nothing is adopted until its last part arrived, and a set that lost a part
  // (a reconnect in the middle) is dropped when the next one starts; the edge keeps its last list.
  const parts = createPartAssembler()
  const sub = deps.link.nc.subscribe(BANS_SUBJECT, {
    callback: (err, msg) => {
      if (err) return
      let bytes: Uint8Array | null = msg.data
      try {
        // A whole list never starts with the bytes of a Part (its first byte is its JSON's length, at least 11).
        if (isPart(bytes)) bytes = parts.add(decodePart(bytes)).whole
        else parts.interrupt()
      } catch {
        bytes = new Uint8Array(0)
      }
      if (!bytes) return
      const bans = decodeBans(bytes)
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
