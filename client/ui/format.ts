/** Words and numbers the UI shows. Pure. */
import type { CloseReason, ConnectionStatus } from '../sync/connection.ts'
import type { PlacementState, RejectReason } from '../sync/placement.ts'

/** A wait in ms as "m:ss" (or "h:mm:ss" from an hour), rounded up so that "0:00" means ready. */
export const formatCountdown = (ms: number): string => {
  const total = Math.max(0, Math.ceil(ms / 1000))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  const ss = String(s).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** How long ago a relay time was, from relay time `now` (both ms since the Unix epoch). */
export const formatAgo = (then: number, now: number): string => {
  const s = Math.max(0, Math.round((now - then) / 1000))
  if (s < 5) return 'just now'
  if (s < 60) return `${s} s ago`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ago`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h} h ago`
  return `${Math.floor(h / 24)} days ago`
}

/** A user id shortened for display (ids are 16 random base64url characters). */
export const shortUser = (user: string): string => (user.length > 8 ? `${user.slice(0, 6)}…` : user)

/** A placement error in words. `message` is the relay's detail (a ban reason, a bad field). */
export const rejectText = (error: RejectReason, message: string | null, retryAfterMs: number | null): string => {
  switch (error) {
    case 'cooldown':
      return retryAfterMs ? `Cooling down: you can place again in ${formatCountdown(retryAfterMs)}` : 'Cooling down'
    case 'locked':
      return 'This board is locked: nobody can place right now'
    case 'banned':
      return message ? `You are banned: ${message}` : 'You are banned from this board'
    case 'protected':
      return 'This area is protected'
    case 'out-of-bounds':
      return 'That tile is outside the board'
    case 'bad-color':
      return "That colour is not in the board's palette (it may have changed): pick another"
    case 'bad-request':
      return message ? `Invalid placement: ${message}` : 'Invalid placement'
    case 'unauthorized':
      return 'No identity: reload the page to get one'
    case 'rate-limited':
      return 'Too many requests: slow down a little'
    case 'unavailable':
      return 'The relay cannot save placements right now: try again soon'
    case 'unknown-board':
      return 'This board does not exist'
    case 'offline':
      return 'Not connected: nothing was sent'
  }
}

/** The feedback line for a placement state (null: nothing to say). */
export const placementText = (s: PlacementState): { text: string; tone: 'info' | 'ok' | 'error' } | null => {
  switch (s.kind) {
    case 'idle':
      return null
    case 'pending':
      return { text: `Placing at (${s.x}, ${s.y})…`, tone: 'info' }
    case 'placed':
      return { text: `Placed at (${s.x}, ${s.y})`, tone: 'ok' }
    case 'rejected':
      return { text: rejectText(s.error, s.message, s.retryAfterMs), tone: 'error' }
    case 'lost':
      return {
        text: `Connection lost before the relay answered: (${s.x}, ${s.y}) will be sent again with the same id once reconnected (never placed twice)`,
        tone: 'error',
      }
  }
}

/** The connection indicator's words. */
export const statusText = (status: ConnectionStatus, reason: CloseReason | null): string => {
  switch (status) {
    case 'connecting':
      return 'Connecting…'
    case 'reconnecting':
      return 'Reconnecting…'
    case 'offline':
      return 'Offline'
    case 'syncing':
      return 'Syncing…'
    case 'live':
      return 'Live'
    case 'closed':
      return reason?.message ? `Disconnected: ${reason.message}` : 'Disconnected'
  }
}

/**
 * When the board shown was last known current, for a board that is not live: "as of 14:02" the
 * same day, "as of 3 Dec 14:02" another day. `then` and `now` are ms; local time.
 */
export const formatAsOf = (then: number, now: number): string => {
  const t = new Date(then)
  const n = new Date(now)
  const hm = `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}`
  const sameDay = t.getFullYear() === n.getFullYear() && t.getMonth() === n.getMonth() && t.getDate() === n.getDate()
  if (sameDay) return `as of ${hm}`
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][t.getMonth()]
  return `as of ${t.getDate()} ${month}${t.getFullYear() === n.getFullYear() ? '' : ` ${t.getFullYear()}`} ${hm}`
}
