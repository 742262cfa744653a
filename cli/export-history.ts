/**
 * `npm run export-history -- --board main --out placements.csv`: the whole placement history as
 * CSV (relay/history-csv.ts). By default from the running relay's admin API (GET
 * /api/admin/boards/<board>/history.csv), found like `npm run admin` finds it (--relay,
 * TESSERA_URL, or HOST and PORT) with its admin token (--token, ADMIN_TOKEN, or
 * DATA_DIR/admin-token); with --data-dir, straight from the data folder of a stopped relay (a
 * running relay holds its LevelDB lock). Streams in constant memory and shows progress on a
 * terminal.
 *
 * The CSV is written to a temporary file beside --out and renamed over it once complete: a
 * failure deletes the temporary file and leaves --out as it was (no empty or partial export).
 */

import { once } from 'node:events'
import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { findAdminToken } from '../node-kit/admin-token.ts'
import { createProgress, formatBytes, runCli } from '../node-kit/cli-run.ts'
import { parseFlags, UsageError } from '../node-kit/flags.ts'
import { HISTORY_CSV_HEADER, historyCsvRow } from '../relay/history-csv.ts'
import { openHistoryStore } from '../relay/history-store.ts'
import { createAnonymiser, loadOrCreateSecret } from '../relay/identity.ts'
import { readDocConfig } from '../shared/doc-schema.ts'
import { type CliEnv, relayUrl } from './relay-url.ts'

const USAGE = `usage: npm run export-history -- --out placements.csv [--board main] [--relay URL] [--token T] | [--data-dir DIR]
  from the running relay (--relay, else TESSERA_URL, else http://HOST:PORT; token as for npm run admin),
  or with --data-dir from the data folder of a stopped relay`

/** Appends text to the export; counts bytes. */
type Sink = { write: (text: string) => Promise<void>; bytes: () => number }

/** Streams the relay's history.csv into `sink`; returns the number of rows. */
const fromRelay = async (board: string, base: string, token: string, sink: Sink, progress: ReturnType<typeof createProgress>) => {
  let res: Response
  try {
    res = await fetch(`${base}/api/admin/boards/${encodeURIComponent(board)}/history.csv`, {
      headers: { authorization: `Bearer ${token}` },
    })
  } catch (err) {
    throw new Error(`cannot reach the relay at ${base}: ${(err as Error).message} (if it is stopped, export with --data-dir DIR)`)
  }
  if (!res.ok || !res.body) {
    const text = await res.text()
    let detail = text
    try {
      const body = JSON.parse(text) as { error?: string; message?: string }
      detail = `${body.error}: ${body.message}`
    } catch {
      // Not a JSON refusal (a proxy's page): show the text as it came.
    }
    throw new Error(`GET history.csv: ${res.status} ${detail}`)
  }
  const total = Number(res.headers.get('x-total-records') ?? 0)
  let lines = 0
  for await (const chunk of res.body) {
    const text = Buffer.from(chunk).toString('utf8')
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++
    await sink.write(text)
    progress.update(`${Math.max(0, lines - 1)} / ${total} rows, ${formatBytes(sink.bytes())}`)
  }
  return Math.max(0, lines - 1)
}

/** Reads the history from a stopped relay's data folder into `sink`; returns the number of rows. */
const fromDisk = async (board: string, dataDir: string, sink: Sink, progress: ReturnType<typeof createProgress>) => {
  if (!existsSync(join(dataDir, 'history'))) throw new UsageError(`${dataDir} holds no relay data`)
  // As the relay opens it, so the documents of an earlier layout are moved into the history first.
  const history = await openHistoryStore(join(dataDir, 'history'), { sync: false, legacyDocDir: join(dataDir, 'doc') }).catch(
    (err: Error) => {
      throw new Error(`${err.message} (while the relay runs, export without --data-dir: through its admin API)`)
    },
  )
  try {
    const doc = await history.readDoc(board)
    const palette = readDocConfig(doc)?.palette
    doc.destroy()
    if (!palette) throw new UsageError(`no board ${board} in ${dataDir}`)
    const anonymise = createAnonymiser(loadOrCreateSecret(dataDir))
    const total = await history.lastSeq(board)
    await sink.write(`${HISTORY_CSV_HEADER}\n`)
    let rows = 0
    let chunk = ''
    for await (const r of history.readAfter(board, 0)) {
      chunk += historyCsvRow(r, palette, anonymise)
      rows++
      if (chunk.length > 64 * 1024) {
        await sink.write(chunk)
        chunk = ''
        progress.update(`${rows} / ${total} rows, ${formatBytes(sink.bytes())}`)
      }
    }
    await sink.write(chunk)
    return rows
  } finally {
    await history.close()
  }
}

const main = async () => {
  const env: CliEnv = process.env
  const flags = parseFlags(process.argv.slice(2), ['board', 'out', 'relay', 'token', 'data-dir'])
  const t0 = performance.now()
  const board = flags.get('board') ?? 'main'
  const outPath = flags.get('out')
  if (!outPath) throw new UsageError('--out is required')
  const diskDir = flags.get('data-dir')
  if (diskDir !== undefined && (flags.has('relay') || flags.has('token'))) {
    throw new UsageError("--data-dir reads a stopped relay's folder: give it, or --relay/--token, not both")
  }
  // Checked before anything is written, so that a usage error leaves no file either.
  const source =
    diskDir === undefined
      ? {
          kind: 'relay' as const,
          base: relayUrl(flags.get('relay'), env),
          token: findAdminToken(flags.get('token'), env.DATA_DIR ?? './data', env),
        }
      : { kind: 'disk' as const, dataDir: resolve(diskDir) }

  const target = resolve(outPath)
  const partial = join(dirname(target), `.${basename(target)}.${process.pid}.partial`)
  const out = createWriteStream(partial, { flags: 'wx' })
  await once(out, 'open')
  const progress = createProgress('export-history')
  let bytes = 0
  const sink: Sink = {
    write: async (text) => {
      bytes += Buffer.byteLength(text)
      if (!out.write(text)) await once(out, 'drain')
    },
    bytes: () => bytes,
  }
  let rows: number
  try {
    rows =
      source.kind === 'relay'
        ? await fromRelay(board, source.base, source.token, sink, progress)
        : await fromDisk(board, source.dataDir, sink, progress)
    out.end()
    await once(out, 'finish')
    renameSync(partial, target)
  } catch (err) {
    out.destroy()
    rmSync(partial, { force: true })
    progress.done()
    throw err
  }
  progress.done()
  const from = source.kind === 'relay' ? source.base : source.dataDir
  console.log(
    `export-history: wrote ${outPath}: ${rows} rows of ${board} from ${from}, ${formatBytes(bytes)} in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
  )
}

runCli('export-history', USAGE, main)
