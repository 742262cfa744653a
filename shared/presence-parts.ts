/**
 * A relay's presence on one board in as many Presence messages as it takes (docs/PROTOCOL.md
 * "Relay to relay"), and put together again by the relays that read them: NATS refuses a message
 * larger than its server's max_payload (1 MiB by default: 131,040 hashes; 8,160 at 64 KiB).
 * Pure: split and reassemble, no I/O.
 *
 * Invariant: a relay's people are replaced only by a whole publication (every part of one round),
 * so a publication that lost a part never drops anyone from the count; the last whole one stays
 * (until it expires: relay/presence-exchange.ts).
 */
import { PRESENCE_HASH_BYTES, type PresenceMessage } from './stream-messages.ts'

/**
 * Bytes of max_payload left for a Presence message's envelope (version, relay id, round, index,
 * count, total, n: under 50 bytes; core NATS publishes carry no headers here).
 */
export const PRESENCE_HEADROOM_BYTES = 256

/** Hashes one Presence message names at most under a server's `maxPayload` (bytes). */
export const presenceHashesPerMessage = (maxPayload: number): number =>
  Math.max(1, Math.floor((maxPayload - PRESENCE_HEADROOM_BYTES) / PRESENCE_HASH_BYTES))

/** The messages of one publication: every hash named, `perMessage` at most in each (at least one message, for an empty set). */
export const splitPresence = (
  p: { relay: string; round: number; hashes: readonly Uint8Array[] },
  perMessage: number,
): PresenceMessage[] => {
  if (perMessage < 1) throw new Error(`splitPresence: ${perMessage} hashes a message must be positive`)
  const count = Math.max(1, Math.ceil(p.hashes.length / perMessage))
  const out: PresenceMessage[] = []
  for (let index = 0; index < count; index++) {
    const hashes = p.hashes.slice(index * perMessage, (index + 1) * perMessage)
    out.push({ relay: p.relay, round: p.round, index, count, total: p.hashes.length, hashes })
  }
  return out
}

/** One relay's whole publication: `total` people, `hashes` of them named. */
export type PresenceSet = { relay: string; total: number; hashes: Uint8Array[] }

export type PresenceAssembler = {
  /**
   * Takes a relay's next message (one relay's messages arrive in the order it sent them, some
   * possibly lost): its whole publication once this is its last message, else null. A message
   * that does not continue that relay's publication in progress drops it.
   */
  add: (m: PresenceMessage) => PresenceSet | null
  /** Drops what is held of a relay's publication in progress (it expired or said goodbye). */
  forget: (relay: string) => void
}

export const createPresenceAssembler = (): PresenceAssembler => {
  const pending = new Map<string, { round: number; count: number; total: number; hashes: Uint8Array[]; next: number }>()
  return {
    add: (m) => {
      let p = pending.get(m.relay)
      if (p && (p.round !== m.round || p.count !== m.count || p.total !== m.total || p.next !== m.index)) {
        pending.delete(m.relay)
        p = undefined
      }
      if (!p) {
        if (m.index !== 0) return null
        p = { round: m.round, count: m.count, total: m.total, hashes: [], next: 0 }
      }
      for (const h of m.hashes) p.hashes.push(h)
      p.next += 1
      if (p.next < p.count) {
        pending.set(m.relay, p)
        return null
      }
      pending.delete(m.relay)
      // More named than counted: not a publication of a sound relay; counted as named.
      return { relay: m.relay, total: Math.max(p.total, p.hashes.length), hashes: p.hashes }
    },
    forget: (relay) => {
      pending.delete(relay)
    },
  }
}
