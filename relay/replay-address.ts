/**
 * The client's address on a writer relay's replays (scaling out: docs/ARCHITECTURE.md): the
 * writer answers the admin calls and tile reads its edges forward by replaying them through its
 * own HTTP server over loopback (relay/admin-responder.ts), so without this the handler would
 * see every forwarded call as coming from 127.0.0.1: the audit log would name the writer's own
 * address, and per-address limits would count all edges' callers as one client.
 *
 * A replay carries the address the edge resolved in one header, and a secret in another: a
 * random value made at each start that never leaves this process (the loopback connection is
 * the only place it is written). The handler takes the address header only from a request that
 * carries the secret, so no header a stranger can send (to the writer directly, or through a
 * proxy) makes the writer believe an address; without it, the request's address is resolved
 * as any other (TRUST_PROXY). Chosen over calling the handler in-process with a made-up request
 * and response: those would have to behave like Node's in every way the handler and its
 * helpers use (streams, headers, HEAD, errors), where a loopback request is the real thing.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { normaliseAddress } from './ip-address.ts'

/** Header of a replay: this process's secret (base64url). Internal to one relay: not a wire name between programs. */
const SECRET_HEADER = 'x-tessera-replay-secret'
/** Header of a replay: the address the edge resolved for its client. */
const ADDRESS_HEADER = 'x-tessera-replay-address'

export type ReplayAddress = {
  /**
   * The headers of a replay: the secret, which marks it as one (relay/request-limit.ts does not
   * count it again), and those that make its handler see `address` (none for an address that is
   * not one, or none given: an edge of before the field).
   */
  headers: (address: string | undefined) => Record<string, string>
  /** Removes both headers from a forwarded request's headers (a foreign publisher's, say): only `headers` sets them. */
  strip: (headers: Record<string, string>) => Record<string, string>
  /** The address a replay of this process vouches for, or null (any other request: resolve as usual). */
  vouched: (req: IncomingMessage) => string | null
  /** Whether the request is a replay of this process (it carries the secret), with an address or not. */
  replayed: (req: IncomingMessage) => boolean
}

export const createReplayAddress = (): ReplayAddress => {
  const secret = randomBytes(32).toString('base64url')
  const expected = Buffer.from(secret)
  const replayed = (req: IncomingMessage): boolean => {
    const given = req.headers[SECRET_HEADER]
    if (typeof given !== 'string') return false
    const bytes = Buffer.from(given)
    // Constant time: the secret is not guessed a character at a time.
    return bytes.length === expected.length && timingSafeEqual(bytes, expected)
  }
  return {
    headers: (address): Record<string, string> => {
      const normal = address === undefined ? null : normaliseAddress(address)
      return normal === null ? { [SECRET_HEADER]: secret } : { [SECRET_HEADER]: secret, [ADDRESS_HEADER]: normal }
    },
    strip: (headers) => {
      const out: Record<string, string> = {}
      for (const [name, value] of Object.entries(headers)) {
        const lower = name.toLowerCase()
        if (lower !== SECRET_HEADER && lower !== ADDRESS_HEADER) out[name] = value
      }
      return out
    },
    vouched: (req) => {
      if (!replayed(req)) return null
      const address = req.headers[ADDRESS_HEADER]
      return typeof address === 'string' ? normaliseAddress(address) : null
    },
    replayed,
  }
}
