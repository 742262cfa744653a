/**
 * `npm run export-history -- --board main --out placements.csv`: the whole placement history as
 * CSV (relay/history-csv.ts). From a running relay's admin API (--relay URL, admin token as for
 * `npm run admin`), or straight from a DATA_DIR whose relay is stopped (--data-dir). Streams in
 * constant memory and shows progress on a terminal.
 */

import { once } from 'node:events'
import { createWriteStream, existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { LeveldbPersistence } from 'y-leveldb'
import { HISTORY_CSV_HEADER, historyCsvRow } from '../relay/history-csv.ts'
import { openHistoryStore } from '../relay/history-store.ts'
import { createAnonymiser, loadOrCreateSecret } from '../relay/identity.ts'
import { readDocConfig } from '../shared/doc-schema.ts'
import { createProgress, formatBytes, parseFlags, runCli, UsageError } from './cli-kit.ts'

const USAGE = 'usage: npm run export-history -- --out placements.csv [--board main] [--relay http://host:port [--token T] | --data-dir DIR]'

const main = async () => {
  const flags = parseFlags(process.argv.slice(2), ['board', 'out', 'relay', 'token', 'data-dir'])
  const t0 = performance.now()
  const board = flags.get('board') ?? 'main'
  const outPath = flags.get('out')
  if (!outPath) throw new UsageError('--out is required')
  if (flags.has('relay') && flags.has('data-dir')) throw new UsageError('give --relay or --data-dir, not both')
  const out = createWriteStream(outPath)
  const progress = createProgress('export-history')
  let rows = 0
  let bytes = 0
  const write = async (text: string) => {
    bytes += text.length
    if (!out.write(text)) await once(out, 'drain')
  }

  const relay = flags.get('relay')
  if (relay) {
    const dataDir = resolve(process.env.DATA_DIR ?? './data')
    const tokenFile = join(dataDir, 'admin-token')
    const token = flags.get('token') ?? process.env.ADMIN_TOKEN ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : null)
    if (!token) throw new UsageError('no admin token: pass --token or set ADMIN_TOKEN')
    const res = await fetch(`${relay.replace(/\/+$/, '')}/api/admin/boards/${board}/history.csv`, {
      headers: { authorization: `Bearer ${token}` },
    })
    if (!res.ok || !res.body) throw new Error(`GET history.csv: ${res.status} ${await res.text()}`)
    const total = Number(res.headers.get('x-total-records') ?? 0)
    for await (const chunk of res.body) {
      const text = Buffer.from(chunk).toString('utf8')
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) rows++
      await write(text)
      progress.update(`${Math.max(0, rows - 1)} / ${total} rows, ${formatBytes(bytes)}`)
    }
    rows = Math.max(0, rows - 1)
  } else {
    const dataDir = resolve(flags.get('data-dir') ?? process.env.DATA_DIR ?? './data')
    if (!existsSync(join(dataDir, 'history'))) throw new UsageError(`${dataDir} holds no relay data`)
    const history = await openHistoryStore(join(dataDir, 'history'), { sync: false }).catch((err: Error) => {
      throw new Error(`${err.message} (while the relay runs, export with --relay http://host:port)`)
    })
    const persistence = new LeveldbPersistence(join(dataDir, 'doc'))
    const doc = await persistence.getYDoc(board)
    const palette = readDocConfig(doc)?.palette
    await persistence.destroy()
    if (!palette) {
      await history.close()
      throw new UsageError(`no board ${board} in ${dataDir}`)
    }
    const anonymise = createAnonymiser(loadOrCreateSecret(dataDir))
    const total = await history.lastSeq(board)
    await write(`${HISTORY_CSV_HEADER}\n`)
    let chunk = ''
    for await (const r of history.readAfter(board, 0)) {
      chunk += historyCsvRow(r, palette, anonymise)
      rows++
      if (chunk.length > 64 * 1024) {
        await write(chunk)
        chunk = ''
        progress.update(`${rows} / ${total} rows, ${formatBytes(bytes)}`)
      }
    }
    await write(chunk)
    await history.close()
  }
  out.end()
  await once(out, 'finish')
  progress.done()
  console.log(
    `export-history: wrote ${outPath}: ${rows} rows of ${board}, ${formatBytes(bytes)} in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
  )
}

runCli('export-history', USAGE, main)
