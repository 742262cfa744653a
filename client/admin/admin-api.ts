/**
 * The admin API (docs/PROTOCOL.md "Admin API") as the moderation page calls it: every call carries
 * the admin token as a bearer, and resolves to data (an expected refusal or an unreachable relay
 * is a value the page shows, never an exception). The page adds no powers of its own: this is the
 * only way it changes anything.
 */
import type { BoardInfo } from '../../shared/board.ts'
import type { Rect } from '../../shared/placement.ts'

/** A refusal, or 'network' when no answer came. */
export type AdminError = { ok: false; error: string; message: string; status: number }
export type AdminResult<T> = ({ ok: true } & T) | AdminError

export type Protection = Rect & { id: number; at: number }
export type Ban = { kind: 'user' | 'ip'; target: string; reason: string; at: number }
export type AuditEntry = { seq: number; at: number; actor: string; action: string; board: string | null; tiles: number; details: unknown }
/** What a rollback matches: all given conditions (ms since the epoch for times). */
export type RollbackFilter = { user?: string; rect?: Rect; from?: number; to?: number }
export type PreviewChange = { x: number; y: number; color: number; was: number }
export type RollbackPreview = { placements: number; tiles: number; changes: PreviewChange[]; truncated: boolean; cut: number }
export type RollbackOutcome = { id: number; placements: number; tiles: number }
export type Activity = { online: number; placementsPerMinute: number; capped: boolean; at: number }
export type TilePlacement = { seq: number; color: number; user: string; placedAt: number; rolledBack: boolean }
/** The fields PATCH /api/admin/boards/<id> takes. */
export type BoardPatch = Partial<Pick<BoardInfo, 'cooldownMs' | 'locked' | 'palette' | 'width' | 'height'>>

export type AdminApi = {
  /** Checks the token with a read that needs it. */
  check: () => Promise<AdminResult<{ bans: Ban[] }>>
  boards: () => Promise<AdminResult<{ boards: BoardInfo[] }>>
  board: (id: string) => Promise<AdminResult<BoardInfo & { protections: Protection[] }>>
  patchBoard: (id: string, patch: BoardPatch) => Promise<AdminResult<BoardInfo>>
  activity: (id: string) => Promise<AdminResult<Activity>>
  protect: (id: string, rect: Rect) => Promise<AdminResult<{ protection: Protection }>>
  unprotect: (id: string, pid: number) => Promise<AdminResult<object>>
  fill: (id: string, rect: Rect, color: number) => Promise<AdminResult<{ tiles: number }>>
  blank: (id: string, rect: Rect) => Promise<AdminResult<{ tiles: number }>>
  previewRollback: (id: string, filter: RollbackFilter) => Promise<AdminResult<RollbackPreview>>
  rollback: (id: string, filter: RollbackFilter) => Promise<AdminResult<RollbackOutcome>>
  undo: (id: string, rollbackId: number) => Promise<AdminResult<RollbackOutcome>>
  bans: () => Promise<AdminResult<{ bans: Ban[] }>>
  ban: (target: { user: string } | { ip: string }, reason: string) => Promise<AdminResult<{ ban: Ban }>>
  unban: (kind: Ban['kind'], target: string) => Promise<AdminResult<object>>
  audit: (limit: number) => Promise<AdminResult<{ entries: AuditEntry[] }>>
  /** A tile's placements, newest first (the public API: reading it needs no token). */
  tileHistory: (id: string, x: number, y: number, limit: number) => Promise<AdminResult<{ placements: TilePlacement[] }>>
}

/**
 * `name`: the moderator, sent as X-Admin-Name so that the audit log names them (`admin:<name>`);
 * printable ASCII only (a header value must be), 64 characters at most as the relay keeps.
 */
export const createAdminApi = (origin: string, token: string, name = ''): AdminApi => {
  const actor = name
    .replace(/[^\x20-\x7e]/g, '?')
    .trim()
    .slice(0, 64)
  const call = async <T>(method: string, path: string, body?: unknown): Promise<AdminResult<T>> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` }
    if (actor) headers['x-admin-name'] = actor
    if (body !== undefined) headers['content-type'] = 'application/json'
    let res: Response
    try {
      res = await fetch(`${origin}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
    } catch {
      return { ok: false, error: 'network', message: 'the relay cannot be reached', status: 0 }
    }
    let json: Record<string, unknown> = {}
    try {
      json = (await res.json()) as Record<string, unknown>
    } catch {
      // A proxy's HTML error page: keep the status.
    }
    if (!res.ok || json.ok === false) {
      return {
        ok: false,
        error: typeof json.error === 'string' ? json.error : `http-${res.status}`,
        message: typeof json.message === 'string' ? json.message : `the relay answered ${res.status}`,
        status: res.status,
      }
    }
    return { ...(json as T), ok: true }
  }
  const b = (id: string) => `/api/admin/boards/${encodeURIComponent(id)}`
  return {
    check: () => call('GET', '/api/admin/bans'),
    boards: () => call('GET', '/api/boards'),
    board: (id) => call('GET', b(id)),
    patchBoard: (id, patch) => call('PATCH', b(id), patch),
    activity: (id) => call('GET', `${b(id)}/activity`),
    protect: (id, rect) => call('POST', `${b(id)}/protections`, rect),
    unprotect: (id, pid) => call('DELETE', `${b(id)}/protections/${pid}`),
    fill: (id, rect, color) => call('POST', `${b(id)}/fill`, { ...rect, color }),
    blank: (id, rect) => call('POST', `${b(id)}/blank`, rect),
    previewRollback: (id, filter) => call('POST', `${b(id)}/rollback/preview`, filter),
    rollback: (id, filter) => call('POST', `${b(id)}/rollback`, filter),
    undo: (id, rollbackId) => call('POST', `${b(id)}/rollbacks/${rollbackId}/undo`),
    bans: () => call('GET', '/api/admin/bans'),
    ban: (target, reason) => call('POST', '/api/admin/bans', { ...target, reason }),
    unban: (kind, target) => call('DELETE', `/api/admin/bans/${kind}/${encodeURIComponent(target)}`),
    audit: (limit) => call('GET', `/api/admin/audit?limit=${limit}`),
    tileHistory: (id, x, y, limit) => call('GET', `/api/boards/${encodeURIComponent(id)}/tiles/${x}/${y}/history?limit=${limit}`),
  }
}

/** A refusal as a sentence a moderator can act on. */
export const describeError = (e: AdminError): string => {
  if (e.error === 'network') return 'The relay cannot be reached. Check the connection and try again.'
  if (e.error === 'unauthorized' || e.error === 'forbidden')
    return 'The relay did not accept the admin token. Log in again with the token from DATA_DIR/admin-token.'
  const said = e.message.replace(/\.$/, '')
  return `The relay refused (${e.error}): ${said.charAt(0).toUpperCase()}${said.slice(1)}.`
}
