/**
 * Per-address limits on requests that cost the relay (or, scaled out, the writer) a lookup each:
 * tile reads (`GET /api/boards/<id>/tiles/<x>/<y>` and its `/history`) and admin calls
 * (`/api/admin/…`), docs/PROTOCOL.md. A token bucket per address key (relay/ip-address.ts
 * limitKey: an IPv6 address by its /64), counted where a request enters, that is by the relay
 * the client talks to. An edge counts a request before it forwards it to the writer
 * (tessera.read, tessera.admin) as well as one it answers itself, so one client of an edge loads
 * the writer no more than its limit; the writer does not count its replays of the requests its
 * edges forwarded (relay/replay-address.ts vouches for them, with the edge's client's address
 * or, from an edge of before that field, without): they were counted at the edge (an edge of
 * before these limits did not count them: the writer then leaves them uncounted too, rather than
 * count all of that edge's clients as one loopback address). As the placement rate
 * (IP_PLACEMENTS_PER_SECOND), a limit holds per relay: an address that calls through several
 * edges gets it at each.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { PlaceError } from '../shared/protocol.ts'
import { send } from './http-util.ts'
import { limitKey } from './ip-address.ts'
import { createKeyedLimiter } from './rate-limit.ts'

export type RequestLimit = {
  /**
   * Takes one of the request's address's tokens and answers true; or, when it has none, answers
   * the request 429 `rate-limited` with Retry-After and answers false.
   */
  admit: (req: IncomingMessage, res: ServerResponse) => boolean
}

export const createRequestLimit = (deps: {
  /** What is limited, in the refusal's message ('tile reads'). */
  what: string
  /** Requests a second per address, refilled continuously. */
  perSecond: number
  /** Requests at once per address (the bucket's size). */
  burst: number
  /** The client's normalised address (relay/client-address.ts, behind TRUST_PROXY). */
  clientAddress: (req: IncomingMessage) => string
  /** Whether the request is this writer's replay of one an edge forwarded (counted there). */
  replayed: (req: IncomingMessage) => boolean
  /** Relay clock, ms. */
  now: () => number
}): RequestLimit => {
  const limiter = createKeyedLimiter(deps.perSecond, deps.burst)
  // An empty bucket holds a token again after at most this long.
  const retryAfterMs = Math.ceil(1000 / deps.perSecond)
  const refusal = {
    ok: false,
    error: PlaceError.RateLimited,
    retryAfterMs,
    message: `too many ${deps.what} from this address (${deps.perSecond} a second, ${deps.burst} at once); retry shortly`,
  } as const
  const headers = { 'access-control-allow-origin': '*', 'retry-after': String(Math.ceil(retryAfterMs / 1000)) }
  return {
    admit: (req, res) => {
      if (deps.replayed(req) || limiter.take(limitKey(deps.clientAddress(req)), deps.now())) return true
      send(res, 429, refusal, headers)
      return false
    },
  }
}
