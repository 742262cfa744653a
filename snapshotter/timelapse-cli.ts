/**
 * `npm run timelapse -- --board main --out-dir frames/` (a PNG per kept snapshot:
 * frame-00001.png, ...) and/or `--apng timelapse.png` (one animated PNG).
 *
 *   --relay http://host:port | --data-dir DIR   where the kept snapshots are (as for export)
 *   --from T --to T            time window (ms since 1970 or ISO 8601), default everything
 *   --every n                  use every n-th snapshot (default 1)
 *   --region x,y,w,h --scale n as for export; the region is in the newest frame's board
 *   --fps n                    APNG frames per second (default 10)
 *
 * Frames come from the kept snapshots (retention thins old ones: docs/SNAPSHOTS.md). A board
 * that grew is drawn at its final size; older frames show color 0 where it did not exist yet.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createProgress, formatBytes, runCli } from '../node-kit/cli-run.ts'
import { parseFlags, parseIntFlag, parseRegion, parseTimeFlag, UsageError } from '../node-kit/flags.ts'
import { growBitmap } from '../shared/update-reader.ts'
import { checkRegion, dataDirSource, parseBoardId, relaySource } from './cli-common.ts'
import { createApngEncoder, cropBitmap, encodePalettePng, scaleBitmap } from './render-png.ts'

const USAGE =
  'usage: npm run timelapse -- [--board main] (--out-dir DIR | --apng FILE.png) [--relay http://host:port | --data-dir DIR] ' +
  '[--from TIME] [--to TIME] [--every N] [--region x,y,w,h] [--scale N] [--fps N]'

const main = async () => {
  const flags = parseFlags(process.argv.slice(2), [
    'board',
    'out-dir',
    'apng',
    'relay',
    'data-dir',
    'from',
    'to',
    'every',
    'region',
    'scale',
    'fps',
    'level',
  ])
  const t0 = performance.now()
  const board = parseBoardId(flags.get('board'))
  const outDir = flags.get('out-dir')
  const apngPath = flags.get('apng')
  if (!outDir && !apngPath) throw new UsageError('give --out-dir, --apng or both')
  if (flags.has('relay') && flags.has('data-dir')) throw new UsageError('give --relay or --data-dir, not both')
  const from = flags.has('from') ? parseTimeFlag(flags.get('from') as string, 'from') : Number.NEGATIVE_INFINITY
  const to = flags.has('to') ? parseTimeFlag(flags.get('to') as string, 'to') : Number.POSITIVE_INFINITY
  const every = parseIntFlag(flags.get('every'), 'every', 1, 1, 1_000_000)
  const scale = parseIntFlag(flags.get('scale'), 'scale', 1, 1, 64)
  const fps = parseIntFlag(flags.get('fps'), 'fps', 10, 1, 100)
  const level = parseIntFlag(flags.get('level'), 'level', 6, 0, 9)
  const regionFlag = flags.get('region')
  const relay = flags.get('relay')
  const source = relay
    ? relaySource(relay, board)
    : dataDirSource(resolve(flags.get('data-dir') ?? process.env.DATA_DIR ?? './data'), board)
  const progress = createProgress('timelapse')

  const entries = (await source.list(from, to)).filter((_, i) => i % every === 0)
  if (entries.length === 0) throw new Error(`no kept snapshot of ${board} in ${source.describe} for that time window`)
  // The newest frame fixes the size and the palette (boards only grow; palettes only append).
  const newest = await source.find({ version: (entries[entries.length - 1] as { version: number }).version })
  if (!newest) throw new Error('the newest snapshot disappeared while reading (pruned?); run again')
  const region = regionFlag ? parseRegion(regionFlag) : { x: 0, y: 0, w: newest.width, h: newest.height }
  checkRegion(region, newest.width, newest.height)
  const outW = region.w * scale
  const outH = region.h * scale
  if (outDir) await mkdir(outDir, { recursive: true })
  const apng = apngPath ? createApngEncoder(outW, outH, newest.palette, entries.length, { level }) : null

  let written = 0
  let frameBytes = 0
  for (const [i, entry] of entries.entries()) {
    progress.update(`frame ${i + 1}/${entries.length} (version ${entry.version})`)
    const sidecar = await source.find({ version: entry.version })
    if (!sidecar) throw new Error(`snapshot ${entry.version} disappeared while reading (pruned?); run again`)
    const png = await source.png(sidecar)
    const full = growBitmap({ bitmap: png.bitmap, width: png.width, height: png.height }, newest.width, newest.height)
    const pixels = scaleBitmap(cropBitmap(full.bitmap, full.width, region), region.w, region.h, scale)
    if (outDir) {
      const bytes = encodePalettePng(pixels, outW, outH, newest.palette, { level })
      await writeFile(join(outDir, `frame-${String(i + 1).padStart(5, '0')}.png`), bytes)
      frameBytes += bytes.length
    }
    apng?.addFrame(pixels, 1000 / fps)
    written++
  }
  let apngBytes = 0
  if (apng && apngPath) {
    progress.update('writing the animated PNG')
    const bytes = apng.finish()
    await writeFile(apngPath, bytes)
    apngBytes = bytes.length
  }
  progress.done()
  const first = entries[0] as { time: number }
  const last = entries[entries.length - 1] as { time: number }
  console.log(
    `timelapse: ${written} frames ${outW}x${outH} px of ${board} from ${new Date(first.time).toISOString()} to ${new Date(last.time).toISOString()}` +
      (outDir ? `, ${outDir}/frame-*.png (${formatBytes(frameBytes)})` : '') +
      (apngPath ? `, ${apngPath} (${formatBytes(apngBytes)}, ${fps} fps)` : '') +
      ` in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
  )
}

runCli('timelapse', USAGE, main)
