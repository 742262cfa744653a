/**
 * The tile reads of the HTTP API (docs/PROTOCOL.md): `GET /api/boards/<id>/tiles/<x>/<y>` (a
 * tile's colour, who placed it and when) and `…/history` (its placements, newest first, a page at
 * a time), each placer named as its host identity when it has one. A relay whose history starts
 * after the writer's (an edge that bootstrapped from a State: Room.historyFrom) answers neither:
 * its edge forwards them to the writer (relay/scale-out.ts), and a read that reaches it anyway is
 * refused rather than answered from a partial history.
 */
import { isInsideBoard } from '../shared/board.ts'
import { RecordKind } from '../shared/placement-record.ts'
import type { HistoryStore } from './history-store.ts'
import type { HostName, HostNames } from './host-names.ts'
import { HttpError } from './http-util.ts'
import type { Room } from './room.ts'

/** Placements a history page holds at most, and by default. */
const MAX_LIMIT = 500
const DEFAULT_LIMIT = 50

const tileCoordinates = (room: Room, a: string | undefined, b: string | undefined): { x: number; y: number } => {
  const x = /^\d{1,5}$/.test(a ?? '') ? Number(a) : Number.NaN
  const y = /^\d{1,5}$/.test(b ?? '') ? Number(b) : Number.NaN
  if (!isInsideBoard(room.config(), x, y)) {
    throw new HttpError(400, 'out-of-bounds', `x and y must be integers inside ${room.config().width}x${room.config().height}`)
  }
  return { x, y }
}

const refuseBelowFloor = (room: Room) => {
  if (room.historyFrom() > 0)
    throw new HttpError(503, 'unavailable', `this edge relay's history starts after seq ${room.historyFrom()}: ask the writer relay`)
}

/**
 * One page of a tile's placements, newest first: placements and fills (restores by rollbacks are
 * not placements; a rolled-back placement is listed with rolledBack: true). `next` is the cursor
 * for the following page (pass it as ?before=), null at the end.
 */
const tileHistoryPage = async (history: HistoryStore, board: string, x: number, y: number, limit: number, before: number | undefined) => {
  const placements: { seq: number; color: number; user: string; placedAt: number; rolledBack: boolean }[] = []
  let cursor = before
  let exhausted = false
  while (placements.length < limit && !exhausted) {
    const page = await history.tileHistory(board, x, y, limit, cursor)
    exhausted = page.length < limit
    const candidates = page.filter((r) => r.kind !== RecordKind.Restore)
    const rolled = await history.rolledBackOf(
      board,
      candidates.map((r) => r.seq),
    )
    for (const r of candidates) {
      if (placements.length === limit) break
      placements.push({ seq: r.seq, color: r.color, user: r.user, placedAt: r.placedAt, rolledBack: rolled.has(r.seq) })
    }
    cursor = page[page.length - 1]?.seq
    if (cursor === undefined) exhausted = true
  }
  const last = placements[placements.length - 1]
  return { x, y, placements, next: placements.length === limit && last ? last.seq : null }
}

export const createTileReads = (deps: { history: HistoryStore; names: HostNames }) => ({
  /** GET …/tiles/<a>/<b>: the answer's body. */
  info: async (room: Room, a: string | undefined, b: string | undefined) => {
    const { x, y } = tileCoordinates(room, a, b)
    refuseBelowFloor(room)
    const info = await room.tileInfo(x, y)
    const host = info.user === null ? null : await deps.names.get(info.user)
    return { ...info, name: host?.name ?? null, issuer: host?.issuer ?? null }
  },
  /** GET …/tiles/<a>/<b>/history?limit=&before=: the answer's body. */
  history: async (room: Room, a: string | undefined, b: string | undefined, params: URLSearchParams) => {
    const { x, y } = tileCoordinates(room, a, b)
    const limit = Number(params.get('limit') ?? DEFAULT_LIMIT)
    const before = params.has('before') ? Number(params.get('before')) : undefined
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT || (before !== undefined && (!Number.isInteger(before) || before < 1))) {
      throw new HttpError(400, 'bad-request', `limit must be an integer in 1..${MAX_LIMIT} and before a positive integer`)
    }
    refuseBelowFloor(room)
    // A placement seen live is in the page (an edge broadcasts before its own durable write).
    await room.settled()
    const page = await tileHistoryPage(deps.history, room.id, x, y, limit, before)
    // Host identities named as in the tile API: one lookup per distinct placer (cached).
    const hosts = new Map<string, HostName | null>()
    for (const user of new Set(page.placements.map((p) => p.user))) hosts.set(user, await deps.names.get(user))
    const placements = page.placements.map((p) => ({
      ...p,
      name: hosts.get(p.user)?.name ?? null,
      issuer: hosts.get(p.user)?.issuer ?? null,
    }))
    return { ...page, placements }
  },
})
