/**
 * The relay's HTTP API as the client uses it (docs/PROTOCOL.md). Every call resolves to data:
 * an expected failure (offline, 404, 429) is a value the UI can show, not an exception.
 */
import type { BoardInfo } from '../../shared/board.ts'
import type { PowChallenge } from '../../shared/protocol.ts'
import { solveChallenge } from './pow.ts'

/** A failed call: the relay's typed error code, or 'network' when no answer came. */
export type ApiError = {
  ok: false
  error: string
  message: string
  status: number
  /** The whole JSON answer, when there was one (a 428's challenge, say). */
  body?: Record<string, unknown>
}

export type ApiResult<T> = ({ ok: true } & T) | ApiError

/** Who placed a tile and when (user and placedAt are null for a tile never placed). */
export type TileInfo = { x: number; y: number; color: number; user: string | null; placedAt: number | null }

const call = async <T>(url: string, init: RequestInit = {}): Promise<{ result: ApiResult<T>; date: number | null }> => {
  let res: Response
  try {
    // Same-origin calls carry the tessera_token cookie; the relay sets it on POST /api/session.
    res = await fetch(url, { credentials: 'same-origin', ...init })
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err
    return { result: { ok: false, error: 'network', message: 'the relay cannot be reached', status: 0 }, date: null }
  }
  const dateHeader = res.headers.get('date')
  const date = dateHeader ? Date.parse(dateHeader) : Number.NaN
  let body: unknown = null
  try {
    body = await res.json()
  } catch {
    // A proxy's HTML error page, for example: keep the status, drop the body.
  }
  const record = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>
  if (!res.ok) {
    return {
      result: {
        ok: false,
        error: typeof record.error === 'string' ? record.error : `http-${res.status}`,
        message: typeof record.message === 'string' ? record.message : `the relay answered ${res.status}`,
        status: res.status,
        body: record,
      },
      date: Number.isNaN(date) ? null : date,
    }
  }
  return { result: { ...(record as T), ok: true }, date: Number.isNaN(date) ? null : date }
}

/**
 * An identity as POST /api/session answers it. The page's own token stays in the HttpOnly
 * cookie; an embed (cookie-free) keeps `token` in memory and presents it to the WebSocket.
 */
export type Session = { user: string; issuedAt: number; expiresAt: number; token?: string; name?: string }

/** How an embed asks: no cookie sent nor set (`credentials: 'omit'`, body `"cookie": false`). */
const COOKIE_FREE: RequestInit = { credentials: 'omit' }

/**
 * POST /api/session: an anonymous identity. A valid cookie is renewed (same user, fresh expiry)
 * without a proof of work; a new identity needs one, solved here in slices (sync/pow.ts).
 * `expectIdentity`: the page believes it holds a valid cookie (it cannot read it: HttpOnly). If
 * not, it fetches a challenge first rather than be refused with a 428, which the browser would
 * log as a failed request on every first visit. The relay sets the HttpOnly cookie that the
 * WebSocket then presents, so the token never needs to be stored by the page.
 */
export const createSession = async (origin: string, expectIdentity: boolean, cookieFree = false): Promise<ApiResult<Session>> => {
  const url = `${origin}/api/session`
  const base = cookieFree ? COOKIE_FREE : {}
  let challenge: PowChallenge | null = null
  if (!expectIdentity || cookieFree) {
    const asked = (await call<PowChallenge>(`${url}/challenge`, base)).result
    if (!asked.ok) return asked
    challenge = asked
  }
  // A challenge may expire or be refused while being solved; each 428 carries a fresh one.
  for (let attempt = 0; ; attempt++) {
    let init: RequestInit = { ...base, method: 'POST' }
    if (challenge) {
      const solved = { challenge: challenge.challenge, nonce: await solveChallenge(challenge.challenge, challenge.bits) }
      const body = JSON.stringify(cookieFree ? { ...solved, cookie: false } : solved)
      init = { ...base, method: 'POST', headers: { 'content-type': 'application/json' }, body }
    }
    const answer = (await call<Session>(url, init)).result
    if (answer.ok || answer.status !== 428 || attempt === 3) return answer
    const { challenge: next, bits, expiresAt } = (answer.body ?? {}) as Partial<PowChallenge>
    if (typeof next !== 'string' || typeof bits !== 'number' || typeof expiresAt !== 'number') return answer
    challenge = { challenge: next, bits, expiresAt }
  }
}

/**
 * POST /api/session {"hostToken"}: a host site's signed identity (docs/EMBEDDING.md) exchanged
 * for one of the relay's, cookie-free. A refusal is 401 unauthorized with a `reason`.
 */
export const exchangeHostToken = async (origin: string, hostToken: string): Promise<ApiResult<Session>> =>
  (
    await call<Session>(`${origin}/api/session`, {
      ...COOKIE_FREE,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hostToken }),
    })
  ).result

/** GET /api/embed: the host origins whose embeds may place (EMBED_PLACE_ORIGINS). */
export const fetchEmbedPolicy = async (origin: string): Promise<ApiResult<{ placeOrigins: string[] }>> =>
  (await call<{ placeOrigins: string[] }>(`${origin}/api/embed`, COOKIE_FREE)).result

/**
 * GET /api/boards/<id>. Also returns the relay's clock from the Date header (ms since the Unix
 * epoch, 1 s resolution) for a first estimate of the clock offset.
 */
export const fetchBoard = async (origin: string, boardId: string): Promise<{ result: ApiResult<BoardInfo>; date: number | null }> =>
  call<BoardInfo>(`${origin}/api/boards/${encodeURIComponent(boardId)}`)

/** GET /api/boards/<id>/tiles/<x>/<y>: a tile's colour, who placed it and when. */
export const fetchTile = async (
  origin: string,
  boardId: string,
  x: number,
  y: number,
  signal?: AbortSignal,
): Promise<ApiResult<TileInfo>> =>
  (await call<TileInfo>(`${origin}/api/boards/${encodeURIComponent(boardId)}/tiles/${x}/${y}`, signal ? { signal } : {})).result

/** GET /api/boards/<id>/snapshot: the newest snapshot's metadata (docs/SNAPSHOTS.md). */
export type SnapshotInfo = {
  version: number
  /** Y.encodeStateVector of the document the PNG was painted from, base64. */
  stateVector: string
  time: number
  width: number
  height: number
  palette: string[]
  configVersion: number
  /** The immutable, versioned PNG: /snapshots/<id>/<version>.png. */
  pngUrl: string
}

/** The newest snapshot's metadata; 404 no-snapshot when the relay has none (or no snapshotter). */
export const fetchSnapshotInfo = async (origin: string, boardId: string, version?: number): Promise<ApiResult<SnapshotInfo>> =>
  (
    await call<SnapshotInfo>(
      `${origin}/api/boards/${encodeURIComponent(boardId)}/snapshot${version === undefined ? '' : `?version=${version}`}`,
    )
  ).result

/** The bytes at a URL (a snapshot PNG), or null if they could not be fetched. */
export const fetchBytes = async (url: string): Promise<Uint8Array | null> => {
  try {
    const res = await fetch(url)
    return res.ok ? new Uint8Array(await res.arrayBuffer()) : null
  } catch {
    return null
  }
}
