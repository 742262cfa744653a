/**
 * The admin HTTP API under /api/admin/ (docs/PROTOCOL.md): live board settings, bans, protected
 * rectangles, fill and blank, admin placement, rollback (and its preview) and undo, board activity,
 * the audit log and the history export. Every call needs the admin token as a bearer; every change
 * is written to the audit log (previews and counts change nothing and are not).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isAdminToken } from '../node-kit/admin-token.ts'
import { parseDateString } from '../node-kit/time.ts'
import { BOARD_ID_PATTERN, type BoardConfig, parseBoardConfig } from '../shared/board.ts'
import type { Rect } from '../shared/placement.ts'
import { RecordKind } from '../shared/placement-record.ts'
import { PLACE_ERROR_STATUS } from '../shared/protocol.ts'
import { ADMIN_USER, type AdminOps } from './admin-ops.ts'
import { boardActivity } from './board-activity.ts'
import { HISTORY_CSV_HEADER, historyCsvRow } from './history-csv.ts'
import type { HistoryStore } from './history-store.ts'
import { HttpError, readJson, send } from './http-util.ts'
import { formatAddressRange, parseAddressRange } from './ip-address.ts'
import type { Moderation } from './moderation.ts'
import type { RollbackFilter } from './rollback.ts'
import { previewRollback } from './rollback-preview.ts'
import type { Room } from './room.ts'

export type AdminDeps = {
  adminToken: string
  rooms: ReadonlyMap<string, Room>
  history: HistoryStore
  moderation: Moderation
  /** Rollback, undo and fill: chunked and journalled (relay/admin-ops.ts). */
  ops: AdminOps
  /** Public board info (as GET /api/boards/<id> answers). */
  boardInfo: (room: Room) => unknown
  /** Stable pseudonym of an identity for exports. */
  anonymise: (user: string) => string
  /** The caller's address, recorded with each audit entry (relay/client-address.ts, relay/replay-address.ts). */
  clientAddress: (req: IncomingMessage) => string
  maxBodyBytes: number
  now: () => number
}

/** Largest rectangle one fill may write, in tiles (each tile is one history record). */
export const MAX_FILL_TILES = 1 << 20

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v)

const parseRect = (value: unknown, board: BoardConfig): Rect => {
  const r = value as Record<string, unknown> | null
  if (!r || typeof r !== 'object' || ![r.x, r.y, r.w, r.h].every(isInt)) {
    throw new HttpError(400, 'bad-request', 'a rectangle is {"x":int,"y":int,"w":int,"h":int}')
  }
  const rect = { x: r.x as number, y: r.y as number, w: r.w as number, h: r.h as number }
  if (rect.w < 1 || rect.h < 1 || rect.x < 0 || rect.y < 0 || rect.x + rect.w > board.width || rect.y + rect.h > board.height) {
    throw new HttpError(400, 'out-of-bounds', `the rectangle must lie inside ${board.width}x${board.height}`)
  }
  return rect
}

const parseTime = (value: unknown, name: string): number | undefined => {
  if (value === undefined) return undefined
  if (isInt(value) && value >= 0) return value
  const date = typeof value === 'string' ? parseDateString(value) : null
  if (date !== null) return date
  throw new HttpError(400, 'bad-request', `${name} must be ms since the epoch or an ISO date`)
}

const objectBody = async (req: IncomingMessage, limit: number): Promise<Record<string, unknown>> => {
  const body = await readJson(req, limit)
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'bad-request', 'the body must be a JSON object')
  return body as Record<string, unknown>
}

/** A rollback's (or its preview's) filter from a request body; at least one condition. */
const parseFilter = (body: Record<string, unknown>, board: BoardConfig): RollbackFilter => {
  const filter: RollbackFilter = {}
  if (body.user !== undefined) {
    if (typeof body.user !== 'string') throw new HttpError(400, 'bad-request', 'user must be a string')
    filter.user = body.user
  }
  if (body.rect !== undefined) filter.rect = parseRect(body.rect, board)
  const from = parseTime(body.from, 'from')
  const to = parseTime(body.to, 'to')
  if (from !== undefined) filter.from = from
  if (to !== undefined) filter.to = to
  if (Object.keys(filter).length === 0) throw new HttpError(400, 'bad-request', 'give at least one of user, rect, from, to')
  return filter
}

/** Longest user id a ban accepts (ids are 16 characters; this only bounds what is stored). */
const MAX_USER_LENGTH = 64

const PATCHABLE = new Set(['cooldownMs', 'locked', 'palette', 'width', 'height'])

/** Answers /api/admin/… requests; returns false for any other path. */
export const handleAdminRoute = async (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  parts: string[],
  deps: AdminDeps,
): Promise<boolean> => {
  if (parts[0] !== 'api' || parts[1] !== 'admin') return false
  const auth = req.headers.authorization
  if (!auth) throw new HttpError(401, 'unauthorized', 'admin calls need Authorization: Bearer <admin token>')
  if (!isAdminToken(deps.adminToken, auth.startsWith('Bearer ') ? auth.slice(7).trim() : null)) {
    throw new HttpError(403, 'forbidden', 'that is not the admin token')
  }
  // HEAD is GET without a body (Node drops the body of an answer to HEAD).
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET')
  const actor = typeof req.headers['x-admin-name'] === 'string' ? `admin:${req.headers['x-admin-name'].slice(0, 64)}` : 'admin'
  const address = deps.clientAddress(req)
  const audit = (action: string, board: string | null, tiles: number, details: unknown) =>
    deps.history.appendAudit({ at: deps.now(), actor, address, action, board, tiles, details })
  const rest = parts.slice(2)
  /**
   * A refusal if the board cannot take writes now (storage failing, closing, overloaded): a
   * chunked operation would otherwise wait for the disk with the request open. An empty write
   * answers exactly what a write would.
   */
  const refusal = async (room: Room) => {
    const ready = await room.write([], ADMIN_USER, RecordKind.Fill)
    return ready.ok ? null : ready
  }

  if (rest[0] === 'audit' && rest.length === 1 && method === 'GET') {
    const limit = Math.min(1000, Number(url.searchParams.get('limit') ?? 100))
    const before = url.searchParams.has('before') ? Number(url.searchParams.get('before')) : undefined
    if (!Number.isInteger(limit) || limit < 1 || (before !== undefined && !Number.isInteger(before))) {
      throw new HttpError(400, 'bad-request', 'limit and before must be integers')
    }
    const entries = await deps.history.readAudit(limit, before)
    send(res, 200, { entries, next: entries.length === limit ? entries[entries.length - 1]?.seq : null })
    return true
  }

  if (rest[0] === 'bans') {
    if (rest.length === 1 && method === 'GET') {
      send(res, 200, { bans: deps.moderation.bans() })
      return true
    }
    if (rest.length === 1 && method === 'POST') {
      const body = await objectBody(req, deps.maxBodyBytes)
      const reason = typeof body.reason === 'string' ? body.reason.slice(0, 500) : ''
      const kind = typeof body.user === 'string' ? 'user' : typeof body.ip === 'string' ? 'ip' : null
      if (!kind) throw new HttpError(400, 'bad-request', 'give {"user": "<id>"} or {"ip": "<address>"}, and optionally "reason"')
      const given = (kind === 'user' ? body.user : body.ip) as string
      let target = given
      if (kind === 'ip') {
        const range = parseAddressRange(given)
        if (!range) {
          throw new HttpError(400, 'bad-address', 'ip must be an IPv4 or IPv6 address or a CIDR range such as 10.0.0.0/8 or 2001:db8::/32')
        }
        target = formatAddressRange(range)
      } else if (given.length === 0 || given.length > MAX_USER_LENGTH) {
        throw new HttpError(400, 'bad-request', `user must be an identity's id (1..${MAX_USER_LENGTH} characters)`)
      }
      const ban = { kind, target, reason, at: deps.now() } as const
      await deps.moderation.ban(ban)
      // Open pages of the banned learn it at once (their Place buttons say so).
      for (const room of deps.rooms.values()) room.refreshSessions()
      await audit('ban', null, 0, ban)
      send(res, 200, { ok: true, ban })
      return true
    }
    // A range's '/' is best sent encoded (/bans/ip/10.0.0.0%2F8); /bans/ip/10.0.0.0/8 works too.
    const kind = rest[1]
    const oneSegment = rest.length === 3 && (kind === 'user' || kind === 'ip')
    const rangeInPath = rest.length === 4 && kind === 'ip' && /^\d{1,3}$/.test(rest[3] as string)
    if (method === 'DELETE' && (oneSegment || rangeInPath)) {
      const target = rest.slice(2).join('/').slice(0, 1024)
      const removed = await deps.moderation.unban(kind as 'user' | 'ip', target)
      if (!removed) throw new HttpError(404, 'not-found', `no ban of ${kind} ${target.slice(0, 100)}`)
      for (const room of deps.rooms.values()) room.refreshSessions()
      await audit('unban', null, 0, { kind, target })
      send(res, 200, { ok: true })
      return true
    }
    throw new HttpError(404, 'not-found', `no admin route ${method} ${url.pathname}`)
  }

  if (rest[0] !== 'boards' || rest.length < 2) throw new HttpError(404, 'not-found', `no admin route ${method} ${url.pathname}`)
  const boardId = rest[1] as string
  const room = BOARD_ID_PATTERN.test(boardId) ? deps.rooms.get(boardId) : undefined
  if (!room) throw new HttpError(404, 'unknown-board', `no board has the id ${JSON.stringify(boardId)}`)
  const action = rest[2]
  const board = room.config()

  if (rest.length === 2) {
    if (method === 'GET') {
      send(res, 200, { ...(deps.boardInfo(room) as object), protections: deps.moderation.protections(room.id) })
      return true
    }
    if (method !== 'PATCH') throw new HttpError(405, 'method-not-allowed', 'use GET or PATCH')
    const patch = await objectBody(req, deps.maxBodyBytes)
    const unknown = Object.keys(patch).filter((k) => !PATCHABLE.has(k))
    if (unknown.length > 0) throw new HttpError(400, 'bad-request', `fields that cannot be changed: ${unknown.join(', ')}`)
    const parsed = parseBoardConfig({ ...board, ...patch })
    if (!parsed.ok) throw new HttpError(400, 'bad-request', parsed.error)
    const changed = await room.updateConfig(parsed.board)
    if (!changed.ok) throw new HttpError(400, 'bad-request', changed.error)
    await audit('update-board', room.id, 0, patch)
    send(res, 200, deps.boardInfo(room))
    return true
  }

  if (action === 'protections') {
    if (rest.length === 3 && method === 'GET') {
      send(res, 200, { protections: deps.moderation.protections(room.id) })
      return true
    }
    if (rest.length === 3 && method === 'POST') {
      const rect = parseRect(await objectBody(req, deps.maxBodyBytes), board)
      const protection = await deps.moderation.protect(room.id, rect, deps.now())
      await audit('protect', room.id, 0, protection)
      send(res, 200, { ok: true, protection })
      return true
    }
    if (rest.length === 4 && method === 'DELETE') {
      const id = Number(rest[3])
      if (!Number.isInteger(id) || !(await deps.moderation.unprotect(room.id, id))) {
        throw new HttpError(404, 'not-found', `no protection ${rest[3]} on ${room.id}`)
      }
      await audit('unprotect', room.id, 0, { id })
      send(res, 200, { ok: true })
      return true
    }
  }

  if ((action === 'fill' || action === 'blank') && rest.length === 3 && method === 'POST') {
    const body = await objectBody(req, deps.maxBodyBytes)
    const rect = parseRect(body, board)
    const color = action === 'blank' ? 0 : body.color
    if (!isInt(color) || color < 0 || color >= board.palette.length) {
      throw new HttpError(400, 'bad-color', `color must be in 0..${board.palette.length - 1}`)
    }
    if (rect.w * rect.h > MAX_FILL_TILES) throw new HttpError(400, 'too-large', `one fill writes at most ${MAX_FILL_TILES} tiles`)
    const refused = await refusal(room)
    if (refused) return sendPlaceError(res, refused)
    // Chunked: placements go on meanwhile, and those on the rectangle after it began keep their tiles.
    const { tiles } = await deps.ops.fill(room, rect, color, action, { actor, address })
    send(res, 200, { ok: true, tiles })
    return true
  }

  if (action === 'place' && rest.length === 3 && method === 'POST') {
    const body = await objectBody(req, deps.maxBodyBytes)
    const result = await room.place({ x: body.x, y: body.y, color: body.color }, { user: ADMIN_USER, ip: 'admin', isAdmin: true })
    if (!result.ok) return sendPlaceError(res, result)
    await audit('place', room.id, 1, { x: body.x, y: body.y, color: body.color })
    send(res, 200, result)
    return true
  }

  if (action === 'rollback' && rest.length === 4 && rest[3] === 'preview' && method === 'POST') {
    // The rollback's own matching and restores, run without writing (relay/rollback-preview.ts).
    const filter = parseFilter(await objectBody(req, deps.maxBodyBytes), board)
    send(res, 200, { ok: true, ...(await previewRollback(deps.history, room, filter)) })
    return true
  }

  if (action === 'activity' && rest.length === 3 && method === 'GET') {
    send(res, 200, { ok: true, ...(await boardActivity(deps.history, room, deps.now())) })
    return true
  }

  if (action === 'rollback' && rest.length === 3 && method === 'POST') {
    const filter = parseFilter(await objectBody(req, deps.maxBodyBytes), board)
    const refused = await refusal(room)
    if (refused) return sendPlaceError(res, refused)
    // The audit entry is written with the rollback's end (relay/admin-ops.ts), also when a
    // restart finishes it: its id is in the audit log even if this answer never arrives.
    const { outcome } = await deps.ops.rollback(room, filter, { actor, address })
    send(res, 200, { ok: true, ...outcome })
    return true
  }

  if (action === 'rollbacks' && rest.length === 5 && rest[4] === 'undo' && method === 'POST') {
    const id = Number(rest[3])
    if (!Number.isInteger(id) || id < 1) throw new HttpError(400, 'bad-request', 'the rollback id must be a positive integer')
    const refused = await refusal(room)
    if (refused) return sendPlaceError(res, refused)
    const undone = await deps.ops.undo(room, id, { actor, address })
    if (!undone) throw new HttpError(404, 'not-found', `rollback ${id} has nothing to undo`)
    send(res, 200, { ok: true, ...undone.outcome })
    return true
  }

  if (action === 'operations' && rest.length === 3 && method === 'GET') {
    // Journal entries (relay/admin-ops.ts): fills, rollbacks and undos begun and not finished,
    // with their progress; one a restart is finishing shows here until its audit entry is written.
    const operations = (await deps.history.readOperations())
      .filter((o) => o.board === room.id)
      .map((o) => ({ name: o.name, ...(o.value as object) }))
    send(res, 200, { operations })
    return true
  }

  if (action === 'history.csv' && rest.length === 3 && method === 'GET') {
    await streamHistoryCsv(req, res, room, deps)
    return true
  }

  throw new HttpError(404, 'not-found', `no admin route ${method} ${url.pathname}`)
}

const sendPlaceError = (res: ServerResponse, result: { error: keyof typeof PLACE_ERROR_STATUS; message?: string }) => {
  send(res, PLACE_ERROR_STATUS[result.error], result)
  return true
}

/** Streams the board's whole history as CSV, in commit order, honouring back-pressure. */
const streamHistoryCsv = async (req: IncomingMessage, res: ServerResponse, room: Room, deps: AdminDeps) => {
  res.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${room.id}-placements.csv"`,
    'cache-control': 'no-store',
    'x-total-records': String(await deps.history.lastSeq(room.id)),
  })
  // HEAD: the headers only, without reading the whole history for a body Node would drop.
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  const palette = room.config().palette
  let chunk = `${HISTORY_CSV_HEADER}\n`
  for await (const r of deps.history.readAfter(room.id, 0)) {
    chunk += historyCsvRow(r, palette, deps.anonymise)
    if (chunk.length > 64 * 1024) {
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve))
      chunk = ''
      if (res.destroyed) return
    }
  }
  res.end(chunk)
}
