/**
 * Serving the snapshots the snapshotter writes to DATA_DIR/snapshots/<board>/ (docs/SNAPSHOTS.md).
 *
 *   GET /api/boards/<id>/snapshot[?version=N|?at=T]   metadata of the latest (or that) snapshot, short cache
 *   GET /api/boards/<id>/snapshot.png[?version|at]    302 to the PNG, short cache
 *   GET /api/boards/<id>/snapshots[?from=T&to=T]      the kept snapshots (version, time), short cache
 *   GET /snapshots/<id>/<version>.png|.json           immutable files: ETag, X-Tessera-Version
 *   GET /snapshots/<id>/latest.json                   the newest sidecar, short cache
 *
 * The folder layout is the URL layout, so any static host or CDN can serve DATA_DIR/snapshots
 * as it is. Safe against path traversal: board ids must match BOARD_ID_PATTERN and name a board
 * of this relay, versions are decimal integers, and file names are rebuilt from those.
 * Unknown boards and versions answer 404, malformed values 400.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { findNewest, findSidecarAt, listSnapshots, readSidecar, snapshotDir } from '../node-kit/snapshot-folder.ts'
import { parseTimeText } from '../node-kit/time.ts'
import type { SnapshotSummary } from '../shared/board.ts'
import { BOARD_ID_PATTERN } from '../shared/board.ts'
import { SnapshotFiles, type SnapshotSidecar } from '../shared/snapshot-sidecar.ts'
import { HttpError } from './http-util.ts'

/** Seconds a client or CDN may reuse "latest" answers: short, so new snapshots show up quickly. */
export const SNAPSHOT_LATEST_MAX_AGE_S = 5
const IMMUTABLE = 'public, max-age=31536000, immutable'
const SHORT = `public, max-age=${SNAPSHOT_LATEST_MAX_AGE_S}`
/** Header naming the snapshot version of a response. */
export const VERSION_HEADER = 'x-tessera-version'

export type SnapshotRouteDeps = {
  /** The relay's DATA_DIR; snapshots live in DATA_DIR/snapshots/<board>/. */
  dataDir: string
  /** Boards this relay serves (only their snapshots are served). */
  rooms: ReadonlyMap<string, unknown>
}

/**
 * What the metadata route answers: the sidecar (with `seq`: null for a sidecar written before
 * snapshots carried it) and absolute-path URLs of its files.
 */
export type SnapshotMeta = SnapshotSidecar & { ok: true; pngUrl: string; sidecarUrl: string; seq: number | null }

/** The latest snapshot of a board, summarised (no state vector: it can be tens of KB), or null when it has none (or it cannot be read). */
export const latestSnapshotSummary = async (deps: Pick<SnapshotRouteDeps, 'dataDir'>, board: string): Promise<SnapshotSummary | null> => {
  const found = await findSnapshot(snapshotDir(deps.dataDir, board), new URLSearchParams())
  if (isFail(found)) return null
  const { version, time, width, height, pngBytes } = found
  return {
    version,
    time,
    width,
    height,
    pngBytes,
    pngUrl: `/snapshots/${board}/${SnapshotFiles.png(version)}`,
    seq: found.seq ?? null,
  }
}

type Fail = { status: number; error: string; message: string }

const cors = { 'access-control-allow-origin': '*' }

const sendJson = (res: ServerResponse, req: IncomingMessage, status: number, body: unknown, headers: Record<string, string>) => {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...cors,
    ...headers,
  })
  res.end(req.method === 'HEAD' ? undefined : text)
}

/**
 * A failure, thrown as every HTTP route throws one: relay/http-api.ts answers it as { ok: false,
 * error, message } with its status, no-store and CORS for any origin.
 */
const failure = (f: Fail): HttpError => new HttpError(f.status, f.error, f.message)

const VERSION_RE = /^\d{1,15}$/

/**
 * Finds the snapshot a query names: ?version=N, ?at=T (the newest taken at or before T), or the
 * latest (node-kit/snapshot-folder.ts reads the folder).
 */
const findSnapshot = async (dir: string, query: URLSearchParams): Promise<SnapshotSidecar | Fail> => {
  const version = query.get('version')
  const at = query.get('at')
  if (version !== null && at !== null) return { status: 400, error: 'bad-request', message: 'give version or at, not both' }
  if (version !== null) {
    if (!VERSION_RE.test(version)) return { status: 400, error: 'bad-request', message: 'version must be a non-negative integer' }
    const s = await readSidecar(dir, Number(version))
    return s ?? { status: 404, error: 'unknown-version', message: `no snapshot has version ${version}` }
  }
  if (at !== null) {
    const t = parseTimeText(at)
    if (t === null) return { status: 400, error: 'bad-request', message: 'at must be ms since 1970 or an ISO 8601 date' }
    const found = await findSidecarAt(dir, t)
    return found ?? { status: 404, error: 'unknown-version', message: `no kept snapshot was taken at or before ${at}` }
  }
  const newest = await findNewest(dir)
  return newest ?? { status: 404, error: 'no-snapshot', message: 'this board has no snapshot yet' }
}

const isFail = (v: SnapshotSidecar | Fail): v is Fail => 'status' in v && 'error' in v

const serveFile = async (
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  type: string,
  cacheControl: string,
  version: number | null,
): Promise<boolean> => {
  let size: number
  let mtime: Date
  try {
    const st = await stat(path)
    if (!st.isFile()) return false
    size = st.size
    mtime = st.mtime
  } catch {
    return false
  }
  // Content is fixed by (board, version); the size guards against a data directory reset.
  const etag = `"${version ?? mtime.getTime().toString(36)}-${size.toString(36)}"`
  const headers: Record<string, string> = {
    'content-type': type,
    'cache-control': cacheControl,
    etag,
    'last-modified': mtime.toUTCString(),
    ...cors,
  }
  if (version !== null) headers[VERSION_HEADER] = String(version)
  const inm = req.headers['if-none-match']
  if (inm?.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}`)) {
    res.writeHead(304, headers)
    res.end()
    return true
  }
  res.writeHead(200, { ...headers, 'content-length': String(size) })
  if (req.method === 'HEAD') {
    res.end()
    return true
  }
  await new Promise<void>((resolve) => {
    const stream = createReadStream(path)
    stream.on('error', () => {
      res.destroy()
      resolve()
    })
    stream.on('end', () => resolve())
    stream.pipe(res)
  })
  return true
}

/**
 * Answers the snapshot routes. Returns true when it answered, false when the request is for
 * another route (the caller goes on routing it); throws an HttpError for a failure, which the
 * caller answers as it answers every route's.
 */
export const handleSnapshotRoute = async (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  deps: SnapshotRouteDeps,
): Promise<boolean> => {
  const parts = url.pathname.split('/').filter(Boolean)
  const isApi = parts[0] === 'api' && parts[1] === 'boards' && parts.length === 4 && /^snapshot(s|\.png)?$/.test(parts[3] as string)
  const isFile = parts[0] === 'snapshots'
  if (!isApi && !isFile) return false
  const method = req.method ?? 'GET'
  if (method === 'OPTIONS' && isApi) return false // the API's CORS preflight answers it
  if (method !== 'GET' && method !== 'HEAD') {
    throw failure({ status: 405, error: 'method-not-allowed', message: 'use GET' })
  }
  const id = parts[isApi ? 2 : 1] ?? ''
  if (!BOARD_ID_PATTERN.test(id) || !deps.rooms.has(id)) {
    throw failure({ status: 404, error: 'unknown-board', message: `no board has the id ${JSON.stringify(id)}` })
  }
  const dir = snapshotDir(deps.dataDir, id)

  if (isFile) {
    const name = parts[2]
    if (parts.length !== 3 || name === undefined) {
      throw failure({ status: 404, error: 'not-found', message: `no file ${url.pathname}` })
    }
    if (name === SnapshotFiles.latest) {
      if (!(await serveFile(req, res, join(dir, name), 'application/json', SHORT, null))) {
        throw failure({ status: 404, error: 'no-snapshot', message: 'this board has no snapshot yet' })
      }
      return true
    }
    const m = /^(.*)\.(png|json)$/.exec(name)
    if (!m || !VERSION_RE.test(m[1] as string)) {
      throw failure({ status: m ? 400 : 404, error: m ? 'bad-request' : 'not-found', message: `no file ${url.pathname}` })
    }
    const version = Number(m[1])
    const png = m[2] === 'png'
    const file = join(dir, png ? SnapshotFiles.png(version) : SnapshotFiles.sidecar(version))
    // A PNG without its sidecar is a write in progress or a deletion: not served.
    const complete = png
      ? await stat(join(dir, SnapshotFiles.sidecar(version))).then(
          () => true,
          () => false,
        )
      : true
    if (!complete || !(await serveFile(req, res, file, png ? 'image/png' : 'application/json', IMMUTABLE, version))) {
      throw failure({ status: 404, error: 'unknown-version', message: `no snapshot has version ${version}` })
    }
    return true
  }

  const kind = parts[3]
  if (kind === 'snapshots') {
    const from = url.searchParams.get('from')
    const to = url.searchParams.get('to')
    const fromT = from === null ? Number.NEGATIVE_INFINITY : parseTimeText(from)
    const toT = to === null ? Number.POSITIVE_INFINITY : parseTimeText(to)
    if (fromT === null || toT === null) {
      throw failure({ status: 400, error: 'bad-request', message: 'from and to must be ms since 1970 or ISO 8601 dates' })
    }
    const snapshots: { version: number; time: number }[] = []
    for (const s of await listSnapshots(dir)) {
      if (s.time >= fromT && s.time <= toT) snapshots.push({ version: s.version, time: s.time })
    }
    sendJson(res, req, 200, { ok: true, board: id, snapshots }, { 'cache-control': SHORT })
    return true
  }

  const found = await findSnapshot(dir, url.searchParams)
  if (isFail(found)) {
    throw failure(found)
  }
  const pngUrl = `/snapshots/${id}/${SnapshotFiles.png(found.version)}`
  const seq = found.seq ?? null
  // A request naming a version gets an answer that never changes.
  const cache = url.searchParams.has('version') ? IMMUTABLE : SHORT
  if (kind === 'snapshot.png') {
    res.writeHead(302, { location: pngUrl, 'cache-control': cache, [VERSION_HEADER]: String(found.version), ...cors })
    res.end()
    return true
  }
  const meta: SnapshotMeta = { ok: true, ...found, pngUrl, sidecarUrl: `/snapshots/${id}/${SnapshotFiles.sidecar(found.version)}`, seq }
  sendJson(res, req, 200, meta, { 'cache-control': cache, [VERSION_HEADER]: String(found.version) })
  return true
}
