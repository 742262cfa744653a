/**
 * What the Place button says (client/ui/place-button.ts renders it), from what the page knows:
 * the relay's answer to a placement now would be this. Pure: the app gathers the facts.
 */
import type { ConnectionStatus } from '../sync/connection.ts'
import type { PlaceButtonModel } from './place-button.ts'

export type PlaceButtonFacts = {
  /** A placement is in flight. */
  pending: boolean
  /** A first visit's identity is still being made. */
  identityPending: boolean
  readOnly: boolean
  /** The ban's reason while banned, else null. */
  banned: string | null
  locked: boolean
  /** Ms until the identity may place again (<= 0: now), and the board's cooldown. */
  remainingMs: number
  cooldownMs: number
  status: ConnectionStatus
  /** A tile is selected. */
  selected: boolean
  /** The chosen colour (#rrggbb). */
  color: string
}

export const placeButtonModel = (f: PlaceButtonFacts): PlaceButtonModel => {
  if (f.pending) return { kind: 'pending' }
  // Making the identity matters only while live: offline or reconnecting, the button says that.
  if (f.identityPending && f.status === 'live') return { kind: 'identity' }
  if (f.readOnly) return { kind: 'read-only' }
  if (f.banned !== null) return { kind: 'banned', reason: f.banned }
  if (f.locked) return { kind: 'locked' }
  // A running cooldown shows even while reconnecting: it is known, and it keeps running.
  if (f.remainingMs > 0) return { kind: 'cooldown', remainingMs: f.remainingMs, totalMs: f.cooldownMs }
  // Not live: a selected tile can be queued, unless the relay refused this page for good ('closed').
  if (f.status !== 'live')
    return f.selected && f.status !== 'closed' ? { kind: 'queue', color: f.color } : { kind: 'offline', noNetwork: f.status === 'offline' }
  if (!f.selected) return { kind: 'no-selection' }
  return { kind: 'ready', color: f.color }
}
