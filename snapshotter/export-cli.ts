/**
 * `npm run export -- --board main --out board.png [options]`: writes a board as a palette PNG.
 *
 *   --relay http://host:port   read from a running relay. Without --version/--at the export is
 *                              the CURRENT board: the latest snapshot synced forward over the
 *                              relay's WebSocket (follow-from-snapshot.ts), exact to the moment.
 *   --data-dir DIR             read DATA_DIR/snapshots (default: $DATA_DIR or ./data); the
 *                              newest snapshot is the board as of that snapshot.
 *   --version N | --at T       a past snapshot (T: ms since 1970 or ISO 8601; the newest at or before)
 *   --region x,y,w,h           a rectangle of tiles
 *   --scale n                  integer upscale, 1..64 (each tile n x n pixels)
 *   --level 0..9               zlib level (default 6)
 */
import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import WebSocket from 'ws'
import { createProgress, formatBytes, runCli } from '../node-kit/cli-run.ts'
import { parseFlags, parseIntFlag, parseRegion, parseTimeFlag, UsageError } from '../node-kit/flags.ts'
import { fromBase64 } from '../shared/snapshot-sidecar.ts'
import { checkRegion, dataDirSource, parseBoardId, relaySource } from './cli-common.ts'
import { followFromSnapshot, type SocketConstructor } from './follow-from-snapshot.ts'
import { cropBitmap, encodePalettePng, scaleBitmap } from './render-png.ts'

const USAGE =
  'usage: npm run export -- --out board.png [--board main] [--relay http://host:port | --data-dir DIR] ' +
  '[--version N | --at TIME] [--region x,y,w,h] [--scale N] [--level 0..9]'

/** Largest output, pixels: a 64-bit PNG encoder would not mind, but memory does (one byte a pixel). */
const MAX_OUTPUT_PIXELS = 1 << 30

const main = async () => {
  const flags = parseFlags(process.argv.slice(2), ['board', 'out', 'relay', 'data-dir', 'version', 'at', 'region', 'scale', 'level'])
  const t0 = performance.now()
  const board = parseBoardId(flags.get('board'))
  const out = flags.get('out')
  if (!out) throw new UsageError('--out is required')
  if (flags.has('version') && flags.has('at')) throw new UsageError('give --version or --at, not both')
  if (flags.has('relay') && flags.has('data-dir')) throw new UsageError('give --relay or --data-dir, not both')
  const version = flags.has('version') ? parseIntFlag(flags.get('version'), 'version', 0, 0, Number.MAX_SAFE_INTEGER) : undefined
  const at = flags.has('at') ? parseTimeFlag(flags.get('at') as string, 'at') : undefined
  const scale = parseIntFlag(flags.get('scale'), 'scale', 1, 1, 64)
  const level = parseIntFlag(flags.get('level'), 'level', 6, 0, 9)
  const regionFlag = flags.get('region')
  const region0 = regionFlag ? parseRegion(regionFlag) : null
  const relay = flags.get('relay')
  const source = relay
    ? relaySource(relay, board)
    : dataDirSource(resolve(flags.get('data-dir') ?? process.env.DATA_DIR ?? './data'), board)
  const progress = createProgress('export')

  progress.update(`finding the snapshot in ${source.describe}`)
  const sidecar = await source.find({ version, at })
  const live = relay !== undefined && version === undefined && at === undefined
  if (!sidecar && !live) {
    throw new Error(
      version !== undefined
        ? `no snapshot of ${board} has version ${version}`
        : at !== undefined
          ? `no kept snapshot of ${board} was taken at or before ${new Date(at).toISOString()}`
          : `board ${board} has no snapshot in ${source.describe}`,
    )
  }
  progress.update('decoding the snapshot')
  let png = sidecar ? await source.png(sidecar) : { bitmap: new Uint8Array(0), width: 0, height: 0, palette: [] as string[], text: {} }
  let palette = png.palette
  let label = sidecar ? `version ${sidecar.version} of ${new Date(sidecar.time).toISOString()}` : ''
  if (live) {
    // The current board: paint the snapshot, sync forward from its state vector, stop.
    progress.update('syncing forward from the snapshot')
    const wsUrl = `${(relay as string).replace(/^http/, 'ws').replace(/\/+$/, '')}/ws/${board}`
    const follower = followFromSnapshot({
      url: wsUrl,
      board: { bitmap: png.bitmap, width: png.width, height: png.height },
      stateVector: sidecar ? fromBase64(sidecar.stateVector) : new Uint8Array(0),
      WebSocket: WebSocket as unknown as SocketConstructor,
      reconnectMs: 0,
    })
    try {
      await follower.whenSynced
    } finally {
      follower.close()
    }
    const b = follower.board()
    png = { ...png, bitmap: b.bitmap, width: b.width, height: b.height }
    palette = follower.config()?.palette ?? palette
    label = `current board (version ${follower.version()}${sidecar ? `, from snapshot ${sidecar.version}` : ''})`
  }

  const region = region0 ?? { x: 0, y: 0, w: png.width, h: png.height }
  checkRegion(region, png.width, png.height)
  if (region.w * region.h * scale * scale > MAX_OUTPUT_PIXELS) throw new UsageError(`the output would exceed ${MAX_OUTPUT_PIXELS} pixels`)
  progress.update(`encoding ${region.w * scale}x${region.h * scale}`)
  const cropped = region0 ? cropBitmap(png.bitmap, png.width, region) : png.bitmap
  const pixels = scaleBitmap(cropped, region.w, region.h, scale)
  const bytes = encodePalettePng(pixels, region.w * scale, region.h * scale, palette, { level })
  await writeFile(out, bytes)
  progress.done()
  console.log(
    `export: wrote ${out} ${region.w * scale}x${region.h * scale} px, ${formatBytes(bytes.length)}: ${board} ${label}` +
      `${region0 ? `, region ${region.x},${region.y},${region.w},${region.h}` : ''}${scale > 1 ? `, scale ${scale}` : ''}` +
      ` in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
  )
}

runCli('export', USAGE, main)
