/**
 * An edge relay's admin calls (scaling out: docs/ARCHITECTURE.md): every /api/admin/… request
 * is forwarded whole (method, path and query, the headers the admin API reads, the body) to the
 * writer over NATS request/reply on ADMIN_SUBJECT, and answered with the writer's answer as the
 * writer gave it (relay/admin-responder.ts), with the client's address as this edge resolves it
 * (TRUST_PROXY), which the writer's handler then sees (relay/replay-address.ts). The edge holds
 * no admin token: the writer checks it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ADMIN_SUBJECT, decodeAdminReply, encodeAdminRequest } from '../shared/stream-messages.ts'
import { HttpError, readBody, send } from './http-util.ts'
import type { NatsLink } from './nats-link.ts'

/**
 * Whether a request is for the admin API (the /admin page itself is static and served by the
 * edge), decided as relay/http-api.ts routes it (the URL's path, each segment percent-decoded):
 * a request the API would route to its admin handler must never reach the edge's own.
 */
export const isAdminApiRequest = (rawUrl: string | undefined): boolean => {
  let pathname: string
  try {
    pathname = new URL(rawUrl ?? '/', 'http://relay.invalid').pathname
  } catch {
    return false
  }
  const [first, second] = pathname.split('/').filter(Boolean)
  try {
    return first !== undefined && decodeURIComponent(first) === 'api' && second !== undefined && decodeURIComponent(second) === 'admin'
  } catch {
    // Not decodable: the API answers 400 without routing it.
    return false
  }
}

/**
 * The board of a tile read (GET /api/boards/<id>/tiles/<x>/<y>, or …/history), decided as
 * relay/http-api.ts routes it; null for any other request.
 */
export const tileReadBoard = (method: string | undefined, rawUrl: string | undefined): string | null => {
  if (method !== 'GET') return null
  let pathname: string
  try {
    pathname = new URL(rawUrl ?? '/', 'http://relay.invalid').pathname
  } catch {
    return null
  }
  let parts: string[]
  try {
    parts = pathname.split('/').filter(Boolean).map(decodeURIComponent)
  } catch {
    return null
  }
  const [api, boards, board, tiles, , , history] = parts
  const shaped = parts.length === 6 || (parts.length === 7 && history === 'history')
  return api === 'api' && boards === 'boards' && tiles === 'tiles' && shaped && board !== undefined ? board : null
}

/** Request headers the admin API reads (lower-case); the others stay on the edge. */
const FORWARDED_HEADERS = ['authorization', 'content-type', 'x-admin-name'] as const

/**
 * Ms an edge waits for the writer's answer. Long: a fill or a rollback answers once it is done
 * (chunked, seconds on a large board); a writer that is not there is known at once (no responders).
 */
const REPLY_TIMEOUT_MS = 60_000
/** Ms a client should wait before trying again while the writer is unreachable (as placements). */
const RETRY_AFTER_MS = 1_000

const unreachable = (res: ServerResponse, message: string) =>
  send(res, 503, { ok: false, error: 'unavailable', message }, { 'retry-after': String(Math.ceil(RETRY_AFTER_MS / 1000)) })

export const createAdminForwarder =
  (deps: {
    link: NatsLink
    maxBodyBytes: number
    /** ADMIN_SUBJECT (admin calls), or READ_SUBJECT (tile reads an edge cannot answer). */
    subject?: string
    /** The client's normalised address (relay/client-address.ts, behind TRUST_PROXY), sent along. */
    clientAddress: (req: IncomingMessage) => string
  }) =>
  async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: Buffer
    try {
      body = await readBody(req, deps.maxBodyBytes)
    } catch (err) {
      if (!(err instanceof HttpError)) throw err
      send(res, err.status, { ok: false, error: err.code, message: err.message })
      if (err.status === 413) res.once('finish', () => req.destroy())
      return
    }
    if (!deps.link.connected()) return unreachable(res, 'this edge cannot reach NATS, so neither the writer relay; try again shortly')
    const headers: Record<string, string> = {}
    for (const name of FORWARDED_HEADERS) {
      const v = req.headers[name]
      if (typeof v === 'string') headers[name] = v
    }
    // Origin-form (an absolute-form request line names this edge, not the writer).
    const url = new URL(req.url ?? '/', 'http://relay.invalid')
    const request = encodeAdminRequest({
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      headers,
      body,
      address: deps.clientAddress(req),
    })
    let reply: ReturnType<typeof decodeAdminReply>
    try {
      const msg = await deps.link.nc.request(deps.subject ?? ADMIN_SUBJECT, request, { timeout: REPLY_TIMEOUT_MS })
      reply = decodeAdminReply(msg.data)
    } catch (err) {
      // No responders (the writer is down) comes at once; a timeout means the writer is there but slow.
      const timedOut = (err as Error).name === 'TimeoutError' || /timeout/i.test((err as Error).message)
      return unreachable(
        res,
        timedOut
          ? `the writer relay did not answer within ${REPLY_TIMEOUT_MS / 1000} s; an operation it began goes on (see GET /api/admin/boards/<id>/operations)`
          : 'the writer relay is unreachable; try again shortly',
      )
    }
    if (!reply) return unreachable(res, 'the writer relay answered with something that is not an admin reply')
    for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value)
    // The writer's own length when it sent one (a HEAD answer's length is that of the body it omits).
    if (!res.hasHeader('content-length') && req.method !== 'HEAD') res.setHeader('content-length', reply.body.length)
    res.writeHead(reply.status)
    res.end(req.method === 'HEAD' ? undefined : reply.body)
  }
