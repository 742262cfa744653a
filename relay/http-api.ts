/**
 * The HTTP API (docs/PROTOCOL.md) and the static client. Every answer is JSON except static
 * files; every failure is { ok: false, error, message }: a 4xx for an expected one, 503 when the
 * storage fails (a placement's `unavailable`), 500 for a bug.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../node-kit/log.ts'
import { BOARD_ID_PATTERN, type BoardInfo } from '../shared/board.ts'
import { MAX_PALETTE_SIZE } from '../shared/palette.ts'
import {
  type HostSessionAnswer,
  HostTokenLimits,
  IDEMPOTENCY_HEADER,
  KEPT_COOKIE_PREFIX,
  KEPT_IMAGE_COOKIE_PREFIX,
  keptImageUrl,
  ORIGIN_NOT_ALLOWED,
  PLACE_ERROR_STATUS,
  SESSION_ERROR_STATUS,
  type SessionAnswer,
  SessionError,
  TOKEN_COOKIE,
  WS_TOKEN_PROTOCOL_PREFIX,
} from '../shared/protocol.ts'
import { type AdminDeps, handleAdminRoute } from './admin-api.ts'
import type { RelayConfig } from './config.ts'
import { EMBED_PAGE_PATHS, EMBED_SCRIPT_PATH, embedPolicy } from './embed-policy.ts'
import type { HistoryStore } from './history-store.ts'
import type { HostNames } from './host-names.ts'
import { type HostTokenKeys, verifyHostToken } from './host-token.ts'
import { carriesBody, HttpError, readBody, readJson, send } from './http-util.ts'
import { type Identity, TOKEN_REFUSAL, type TokenSigner } from './identity.ts'
import { limitKey } from './ip-address.ts'
import { createKeyedLimiter } from './rate-limit.ts'
import type { RequestLimit } from './request-limit.ts'
import { embedFrameAncestors, mayTakeIdentity } from './request-origin.ts'
import type { Room } from './room.ts'
import type { PowGate } from './session-pow.ts'
import { handleSnapshotRoute, latestSnapshotSummary } from './snapshot-routes.ts'
import { createStaticFiles } from './static-files.ts'
import { createTileReads } from './tile-reads.ts'

export type HttpDeps = {
  /** Per-address placement budget; false = 429 rate-limited. */
  allowPlacement: (ip: string, now: number) => boolean
  /** The per-address limits on tile reads and admin calls (relay/request-limit.ts). */
  tileReadLimit: RequestLimit
  adminCallLimit: RequestLimit
  /** The client's normalised address (relay/client-address.ts, behind TRUST_PROXY). */
  clientAddress: (req: IncomingMessage) => string
  /** Everything the admin API needs (see admin-api.ts). */
  admin: AdminDeps
  history: HistoryStore
  config: RelayConfig
  rooms: ReadonlyMap<string, Room>
  signer: TokenSigner
  /** Host tokens (docs/EMBEDDING.md): the secrets that verify them, the relay user of (iss, sub), and their names. */
  host: { keys: HostTokenKeys; userId: (iss: string | null, sub: string) => string; names: HostNames }
  /** The proof of work new identities cost (relay/session-pow.ts). */
  pow: PowGate
  log: Logger
  now: () => number
}

/**
 * Where a token came from. A browser attaches the cookie to requests other sites' pages make,
 * so a cookie proves less than a header, a WebSocket subprotocol or a parameter the page had to know.
 */
export type TokenSource = 'header' | 'protocol' | 'query' | 'cookie'

/** How a request presented its token, and what it names. An expired token grants nothing. */
export type TokenCheck =
  | { kind: 'none' }
  | { kind: 'valid'; identity: Identity; token: string; source: TokenSource }
  | { kind: 'expired'; identity: Identity; source: TokenSource }
  | { kind: 'invalid'; source: TokenSource }

/** The token a WebSocket handshake offers as a `tessera.token.<token>` subprotocol, or null. */
const protocolToken = (header: string | undefined): string | null => {
  for (const entry of (header ?? '').split(',')) {
    const p = entry.trim()
    if (p.startsWith(WS_TOKEN_PROTOCOL_PREFIX)) return p.slice(WS_TOKEN_PROTOCOL_PREFIX.length)
  }
  return null
}

/**
 * Reads the token from the Authorization bearer, a `tessera.token.<token>` WebSocket
 * subprotocol, the `token` query parameter or the cookie, in that order, and checks it at `now` (ms).
 */
export const readToken = (req: IncomingMessage, url: URL, signer: TokenSigner, now: number): TokenCheck => {
  let token: string | null = null
  let source: TokenSource = 'header'
  const auth = req.headers.authorization
  const offered = protocolToken(req.headers['sec-websocket-protocol'])
  if (auth?.startsWith('Bearer ')) token = auth.slice(7).trim()
  else if (offered !== null) {
    token = offered
    source = 'protocol'
  } else if (url.searchParams.has('token')) {
    token = url.searchParams.get('token')
    source = 'query'
  } else {
    source = 'cookie'
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [k, ...v] = part.trim().split('=')
      if (k !== TOKEN_COOKIE) continue
      try {
        token = decodeURIComponent(v.join('='))
      } catch {
        token = v.join('=')
      }
    }
  }
  if (token === null || token === '') return { kind: 'none' }
  const verdict = signer.verify(token, now)
  return verdict.kind === 'valid' ? { kind: 'valid', identity: verdict.identity, token, source } : { ...verdict, source }
}

const SESSION_LIMITED = {
  ok: false,
  error: SessionError.RateLimited,
  message: 'too many new identities from this address; try again later',
} as const

export const boardInfo = (room: Room): BoardInfo => ({ ...room.config(), maxPaletteSize: MAX_PALETTE_SIZE, online: room.online() })

/**
 * Headers for HTML pages: a content security policy the client satisfies (its own scripts,
 * styles and service worker; WebSockets to this relay; images from data: and blob: URLs for
 * snapshots), and framing limited to the configured embedding origins.
 */
export const pageSecurityHeaders = (
  embedOrigins: readonly string[],
  frameAncestors?: string,
  scriptHashes: readonly string[] = [],
): Record<string, string> => {
  const ancestors = frameAncestors ?? (embedOrigins.includes('*') ? '*' : ["'self'", ...embedOrigins].join(' '))
  const csp = [
    "default-src 'self'",
    // The page's own inline scripts by their hashes (the app's board preview), no others.
    ["script-src 'self'", ...scriptHashes].join(' '),
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self' ws: wss:",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    `frame-ancestors ${ancestors}`,
  ].join('; ')
  return {
    'content-security-policy': csp,
    // Older browsers without frame-ancestors: same origin only unless embedding is configured.
    ...(embedOrigins.length === 0 && frameAncestors === undefined ? { 'x-frame-options': 'SAMEORIGIN' } : {}),
    'cross-origin-opener-policy': 'same-origin',
  }
}

/** Builds the request handler. */
export const createHttpHandler = (deps: HttpDeps) => {
  const tileReads = createTileReads({ history: deps.history, names: deps.host.names })
  const { config, rooms, signer, log, now } = deps
  // Keyed by limitKey: a bounded-size key per address (per /64 for IPv6), never request text.
  const sessionLimiter = createKeyedLimiter(config.sessionsPerIpPerHour / 3600, config.sessionsPerIpPerHour)

  /**
   * A new identity for a request that presented no valid token: it must carry a solved challenge
   * in its body ({"challenge","nonce"}) unless SESSION_POW_BITS is 0. Every proof-of-work refusal
   * carries a fresh challenge.
   */
  const newIdentity = (
    req: IncomingMessage,
    body: Record<string, unknown>,
    presented: Exclude<TokenCheck, { kind: 'valid' }>,
    t: number,
  ): ({ ok: true; token: string } & Identity) | Extract<SessionAnswer, { ok: false }> => {
    const { pow } = deps
    if (pow.bits > 0) {
      const { challenge, nonce } = body
      if (challenge === undefined && nonce === undefined) {
        const why = presented.kind === 'expired' ? 'the token expired; a new identity' : 'a new identity'
        return {
          ok: false,
          error: SessionError.PowRequired,
          message: `${why} needs a proof of work: find nonce with SHA-256(challenge + ':' + nonce) starting with ${pow.bits} zero bits, then POST {"challenge","nonce"}`,
          ...pow.challenge(t),
        }
      }
      const checked = pow.check(challenge, nonce, t)
      if (!checked.ok) return checked.error === SessionError.RateLimited ? checked : { ...checked, ...pow.challenge(t) }
      if (!sessionLimiter.take(limitKey(deps.clientAddress(req)), t)) return SESSION_LIMITED
      pow.redeem(challenge as string, checked.expiresAt, t)
    } else if (!sessionLimiter.take(limitKey(deps.clientAddress(req)), t)) {
      return SESSION_LIMITED
    }
    return { ok: true, ...signer.issue(t) }
  }

  const snapshotDeps = { dataDir: config.dataDir, rooms }

  /**
   * POST /api/session {"hostToken"}: the host vouches for its user, so no proof of work and no
   * per-address identity limit. Never sets the cookie.
   */
  const exchangeHostToken = async (res: ServerResponse, hostToken: unknown, t: number, cors: Record<string, string>) => {
    const verdict = verifyHostToken(hostToken, deps.host.keys, t)
    if (!verdict.ok) {
      const refusal: HostSessionAnswer = { ok: false, error: 'unauthorized', reason: verdict.reason, message: verdict.message }
      return send(res, 401, refusal, cors)
    }
    const { iss, sub, name, expiresAt: hostExpiresAt, issuedAt: hostIssuedAt } = verdict.claims
    const user = deps.host.userId(iss, sub)
    // Durable before the answer: a placement made with the token is named at once, after a restart too.
    await deps.host.names.remember(user, { issuer: iss, name }, hostIssuedAt)
    // The relay token ends with the host token: the host vouches for its user until then and no
    // longer (docs/EMBEDDING.md). At least clockSkewMs from now (an `exp` up to that far past is
    // accepted), at most TOKEN_TTL_MS.
    const { token, issuedAt, expiresAt } = signer.renew(user, t, Math.max(hostExpiresAt, t + HostTokenLimits.clockSkewMs))
    const answer: HostSessionAnswer = { ok: true, token, user, name, issuer: iss, issuedAt, expiresAt }
    return send(res, 200, answer, cors)
  }

  const roomOf = (id: string): Room => {
    const room = BOARD_ID_PATTERN.test(id) ? rooms.get(id) : undefined
    if (!room) throw new HttpError(404, 'unknown-board', `no board has the id ${JSON.stringify(id)}`)
    return room
  }

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    // The body limit holds for every endpoint, also those that never look at a body (a session
    // renewal, a GET): the body is read here, once, and handlers parse what was read.
    if (carriesBody(req)) await readBody(req, config.maxBodyBytes)
    if (await handleSnapshotRoute(req, res, url, snapshotDeps)) return
    // HEAD is GET without a body: Node's response drops the body of an answer to HEAD and keeps
    // its headers (content-length included).
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET')
    const parts = url.pathname
      .split('/')
      .filter(Boolean)
      .map((p) => {
        try {
          return decodeURIComponent(p)
        } catch {
          throw new HttpError(400, 'bad-request', 'the path is not valid')
        }
      })
    if (parts[0] !== 'api') return serveStatic(req, res, url)
    if (method === 'OPTIONS' && parts[1] === 'session') {
      // Every page is let through the preflight: the POST decides, and a page that may not take
      // identities reads why (403 origin-not-allowed) instead of a bare network error. No
      // credentials are allowed: the cookie never goes along.
      const origin = req.headers.origin
      res.writeHead(204, {
        vary: 'origin',
        ...(origin !== undefined
          ? {
              'access-control-allow-origin': origin,
              'access-control-allow-methods': 'POST, OPTIONS',
              'access-control-allow-headers': 'authorization, content-type',
              'access-control-max-age': '86400',
            }
          : {}),
      })
      res.end()
      return
    }
    if (method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'GET, HEAD, POST, OPTIONS',
        'access-control-allow-headers': `authorization, content-type, ${IDEMPOTENCY_HEADER}`,
        'access-control-max-age': '86400',
      })
      res.end()
      return
    }
    // Counted before the token is checked: a flood of wrong tokens is refused as cheaply.
    if (parts[1] === 'admin' && !deps.adminCallLimit.admit(req, res)) return
    if (await handleAdminRoute(req, res, url, parts, deps.admin)) return
    const cors = { 'access-control-allow-origin': '*' }
    const [, resource, id, sub, a, b] = parts

    if (resource === 'health' && parts.length === 2 && method === 'GET') return send(res, 200, { ok: true }, cors)
    if (resource === 'embed' && parts.length === 2 && method === 'GET') return send(res, 200, embedPolicy(config), cors)

    if (resource === 'session' && parts.length === 3 && id === 'challenge') {
      if (method !== 'GET') throw new HttpError(405, 'method-not-allowed', 'use GET')
      return send(res, 200, { ok: true, ...deps.pow.challenge(now()) }, cors)
    }

    if (resource === 'session' && parts.length === 2) {
      if (method !== 'POST') throw new HttpError(405, 'method-not-allowed', 'use POST')
      const origin = req.headers.origin
      if (!mayTakeIdentity(origin, req.headers.host, config)) {
        const refusal = {
          ok: false,
          error: ORIGIN_NOT_ALLOWED,
          message: `pages of ${origin} may not take identities here (EMBED_PLACE_ORIGINS); the board can be embedded read-only`,
        }
        // Readable by that page (its embed says why it is read-only); nothing was issued.
        return send(res, 403, refusal, origin === undefined ? {} : { 'access-control-allow-origin': origin, vary: 'origin' })
      }
      // A page of an allowed origin may read the answer (no credentials: embeds use no cookie).
      const cors: Record<string, string> = origin === undefined ? {} : { 'access-control-allow-origin': origin, vary: 'origin' }
      const raw = await readJson(req, config.maxBodyBytes, {})
      const body = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>
      const t = now()
      if (body.hostToken !== undefined) return exchangeHostToken(res, body.hostToken, t, cors)
      const presented = readToken(req, url, signer, t)
      let issued: ReturnType<typeof newIdentity>
      if (presented.kind === 'valid') {
        // A host identity's token is renewed no further than it was valid: only a new host token extends it.
        const isHost = (await deps.host.names.get(presented.identity.user)) !== null
        const until = isHost ? presented.identity.expiresAt : undefined
        issued = { ok: true as const, ...signer.renew(presented.identity.user, t, until) }
      } else {
        issued = newIdentity(req, body, presented, t)
      }
      if (!issued.ok) {
        const headers: Record<string, string> = issued.retryAfterMs ? { 'retry-after': String(Math.ceil(issued.retryAfterMs / 1000)) } : {}
        return send(res, SESSION_ERROR_STATUS[issued.error], issued, { ...cors, ...headers })
      }
      const { token, user, issuedAt, expiresAt } = issued
      const maxAge = Math.max(0, Math.floor((expiresAt - t) / 1000))
      // {"cookie": false}: an embed's identity held in the page's memory (third-party frames store no cookies).
      const cookie: Record<string, string> =
        body.cookie === false ? {} : { 'set-cookie': `${TOKEN_COOKIE}=${token}; Path=/; Max-Age=${maxAge}; SameSite=Lax; HttpOnly` }
      return send(res, 200, { ok: true, token, user, issuedAt, expiresAt } satisfies SessionAnswer, { ...cors, ...cookie })
    }

    if (resource === 'boards') {
      if (parts.length === 2 && method === 'GET') return send(res, 200, { boards: [...rooms.values()].map(boardInfo) }, cors)
      const room = roomOf(id ?? '')
      if (parts.length === 3 && method === 'GET') {
        // The latest snapshot rides along: a first visit's page needs both, and one answer
        // saves it a request (and a logged 404 when there is no snapshot).
        const snapshot = await latestSnapshotSummary(snapshotDeps, room.id)
        return send(res, 200, { ...boardInfo(room), seq: room.lastSeq(), snapshot } satisfies BoardInfo, cors)
      }
      if (sub === 'place' && parts.length === 4) {
        if (method !== 'POST') throw new HttpError(405, 'method-not-allowed', 'use POST')
        const presented = readToken(req, url, signer, now())
        if (presented.kind === 'invalid' || presented.kind === 'expired')
          throw new HttpError(401, 'unauthorized', TOKEN_REFUSAL[presented.kind])
        if (presented.kind === 'none') throw new HttpError(401, 'unauthorized', 'no identity: POST /api/session first')
        const body = await readJson(req, config.maxBodyBytes)
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw new HttpError(400, 'bad-request', 'the body must be a JSON object {"x":..,"y":..,"color":..}')
        }
        const { x, y, color, id: bodyId } = body as Record<string, unknown>
        // The placement id: the Idempotency-Key header or the body's `id` (both: they must agree).
        // The IETF draft spells the header as a quoted string ("…"), Stripe and others bare: both.
        const rawHeader = req.headers[IDEMPOTENCY_HEADER]
        const headerId = typeof rawHeader === 'string' ? (/^"(.*)"$/.exec(rawHeader)?.[1] ?? rawHeader) : rawHeader
        if (headerId !== undefined && bodyId !== undefined && headerId !== bodyId) {
          throw new HttpError(400, 'bad-request', `the ${IDEMPOTENCY_HEADER} header and the body's id differ`)
        }
        const id = headerId ?? bodyId
        const ip = deps.clientAddress(req)
        const result = deps.allowPlacement(ip, now())
          ? await room.place({ x, y, color, id }, { user: presented.identity.user, ip, isAdmin: false })
          : ({ ok: false, error: 'rate-limited', retryAfterMs: 1000, message: 'too many placements from this address' } as const)
        if (result.ok) return send(res, 200, result, cors)
        const headers: Record<string, string> = { ...cors }
        if (result.retryAfterMs) headers['retry-after'] = String(Math.ceil(result.retryAfterMs / 1000))
        return send(res, PLACE_ERROR_STATUS[result.error], result, headers)
      }
      const history = parts.length === 7 && parts[6] === 'history'
      if (sub === 'tiles' && (history || parts.length === 6) && method === 'GET') {
        // Counted before anything is read (a refused read costs no lookup).
        if (!deps.tileReadLimit.admit(req, res)) return
        return send(res, 200, await (history ? tileReads.history(room, a, b, url.searchParams) : tileReads.info(room, a, b)), cors)
      }
    }
    throw new HttpError(404, 'not-found', `no API route ${method} ${url.pathname}`)
  }

  const staticFiles = createStaticFiles(config.staticDir)
  const serveStatic = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    // The moderation page (/admin) is never framed by other sites, whatever EMBED_ORIGINS allows.
    if (/^\/admin(\/|$)/.test(url.pathname))
      return staticFiles.serve(req, res, url, (p) => pageSecurityHeaders([], undefined, p.scriptHashes))
    // The embed page may be framed by anyone when read-only, else as the embedding origins allow
    // (docs/EMBEDDING.md); the element's module is loaded by pages of any origin (with CORS).
    if (EMBED_PAGE_PATHS.has(url.pathname)) {
      const ancestors = embedFrameAncestors(url.searchParams.get('readonly') === '1', config)
      return staticFiles.serve(req, res, url, (p) => pageSecurityHeaders(config.embedOrigins, ancestors, p.scriptHashes))
    }
    if (url.pathname === EMBED_SCRIPT_PATH) {
      return staticFiles.serve(req, res, url, (p) => pageSecurityHeaders(config.embedOrigins, undefined, p.scriptHashes), {
        'access-control-allow-origin': '*',
      })
    }
    return staticFiles.serve(
      req,
      res,
      url,
      (p) => pageSecurityHeaders(config.embedOrigins, undefined, p.scriptHashes),
      appPreloads(req, url),
    )
  }

  /**
   * The app page served from the network names what it fetches first, so that the browser
   * fetches it with the page: the board's info, which the script asks for (docs/CLIENT.md
   * "Start"; `as=fetch` with `crossorigin`: the page's fetch() (mode cors, same-origin
   * credentials) then reuses the answer), and, unless the page says it keeps this board (its
   * `tessera_kept_<id>` cookie: it shows the kept board first) and the request is a page load,
   * the latest snapshot's image (or, when it also says it keeps that board's image, its
   * `tessera_kept_image_<id>` cookie, the kept image `/kept/<id>.png`), which
   * the HTML's head asks for by the same URL (client/index.html: `as=image`, no CORS, as an <img>
   * asks), a redirect to the immutable PNG.
   */
  const appPreloads = (req: IncomingMessage, url: URL): Record<string, string> => {
    if (url.pathname !== '/' && url.pathname !== '/index.html') return {}
    const id = url.searchParams.get('board') ?? 'main'
    if (!BOARD_ID_PATTERN.test(id) || !rooms.has(id)) return {}
    const links = [`</api/boards/${id}>; rel=preload; as=fetch; crossorigin`]
    // The service worker precaches this page with fetch() (Sec-Fetch-Dest: empty) and answers
    // later navigations with that copy, headers and all: the image there would be fetched on every
    // return visit. A browser's page load says `document`; a client that sends no such header is
    // taken for one.
    const dest = req.headers['sec-fetch-dest']
    const cookies = (req.headers.cookie ?? '').split(';').map((c) => c.trim())
    const kept = cookies.includes(`${KEPT_COOKIE_PREFIX}${id}=1`)
    const keptImage = kept && cookies.includes(`${KEPT_IMAGE_COOKIE_PREFIX}${id}=1`)
    if (dest === undefined || dest === 'document') {
      // The kept image is the page's service worker's to answer (from Cache Storage); the head's
      // script asks for it by the same URL when a worker controls the page.
      if (keptImage) links.push(`<${keptImageUrl(id)}>; rel=preload; as=image; fetchpriority=high`)
      else if (!kept) links.push(`</api/boards/${id}/snapshot.png>; rel=preload; as=image; fetchpriority=high`)
    }
    return { link: links.join(', ') }
  }

  return (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('x-content-type-options', 'nosniff')
    res.setHeader('referrer-policy', 'strict-origin-when-cross-origin')
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://relay.invalid')
    } catch {
      send(res, 400, { ok: false, error: 'bad-request', message: 'the URL is not valid' })
      return
    }
    route(req, res, url).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      if (err instanceof HttpError) {
        send(res, err.status, { ok: false, error: err.code, message: err.message }, { 'access-control-allow-origin': '*' })
        if (err.status === 413) res.once('finish', () => req.destroy())
        return
      }
      log.error('request failed', req.method, url.pathname, err)
      send(res, 500, { ok: false, error: 'internal', message: 'the relay failed to answer; see its log' })
    })
  }
}
