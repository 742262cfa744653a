/**
 * The export and timelapse commands as a user runs them (child processes), against a running
 * relay's HTTP API and against its DATA_DIR.
 */
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { createLog } from '../../node-kit/log.ts'
import type { Room } from '../../relay/room.ts'
import type { SnapshotSidecar } from '../../shared/snapshot-sidecar.ts'
import { stateVectorSum } from '../../shared/update-reader.ts'
import { parseSnapshotterConfig } from '../../snapshotter/config.ts'
import { cropBitmap, decodePalettePng } from '../../snapshotter/render-png.ts'
import { startBoardSnapshotter } from '../../snapshotter/snapshotter.ts'
import { startTestRelay } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const ENV = { BOARD_COOLDOWN_MS: '0', BOARD_WIDTH: '80', BOARD_HEIGHT: '60', BOARD_SHARD_SIZE: '16' }

const versionOf = (room: Room) => stateVectorSum(Y.decodeStateVector(Y.encodeStateVector(room.doc)))

const run = (script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })

const readPng = (path: string) => {
  const r = decodePalettePng(new Uint8Array(readFileSync(path)))
  if (!r.ok) throw new Error(r.error)
  return r.png
}

describe('export and timelapse', () => {
  const cleanup: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })

  it('exports the current board, a past version, a region at a scale, and writes a timelapse', async () => {
    const relay = await startTestRelay({ env: ENV })
    cleanup.push(() => relay.stop())
    const room = relay.rooms.get('main') as Room
    const out = makeTmpDir('tessera-export-')
    cleanup.push(() => out.remove())
    const config = parseSnapshotterConfig({ DATA_DIR: relay.dataDir, SNAPSHOT_RELAY: relay.wsBase, SNAPSHOT_MIN_INTERVAL_MS: '0' })
    const snapshotter = await startBoardSnapshotter({ config, board: 'main', WebSocket, log: createLog('')('s') })
    cleanup.push(() => snapshotter.stop())
    const who = { user: 'u', ip: '127.0.0.1', isAdmin: false }
    const snaps: SnapshotSidecar[] = []
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => room.place({ x: (i * 3 + round) % 80, y: (i + round * 7) % 60, color: round + 2 }, who)),
      )
      // Wait until the follower holds every placement, then snapshot.
      await waitFor(() => snapshotter.version() === versionOf(room), { what: 'snapshotter caught up' })
      await snapshotter.snapshotNow()
      snaps.push(snapshotter.latest() as SnapshotSidecar)
    }
    expect(new Set(snaps.map((s) => s.version)).size).toBe(3)
    // Placements after the last snapshot: only a live export sees them.
    await room.place({ x: 79, y: 59, color: 15 }, who)

    const current = join(out.dir, 'current.png')
    const live = await run('snapshotter/export-cli.ts', ['--relay', relay.url, '--out', current])
    expect(live.code, live.stderr).toBe(0)
    expect(live.stdout).toMatch(/^export: wrote .*current\.png 80x60 px.*current board/)
    expect(Buffer.from(readPng(current).bitmap).equals(Buffer.from(room.bitmap()))).toBe(true)

    const past = join(out.dir, 'past.png')
    const first = snaps[0] as SnapshotSidecar
    const r1 = await run('snapshotter/export-cli.ts', [
      '--data-dir',
      relay.dataDir,
      '--version',
      String(first.version),
      '--region',
      '10,5,20,10',
      '--scale',
      '3',
      '--out',
      past,
    ])
    expect(r1.code, r1.stderr).toBe(0)
    const png = readPng(past)
    expect([png.width, png.height]).toEqual([60, 30])
    const firstPng = readPng(join(relay.dataDir, 'snapshots', 'main', first.png))
    const region = cropBitmap(firstPng.bitmap, 80, { x: 10, y: 5, w: 20, h: 10 })
    expect(png.bitmap[0]).toBe(region[0])
    expect(png.bitmap[3 * 60 * 3 + 3 * 2]).toBe(region[20 + 2]) // tile (2, 1) of the region, scaled by 3

    const byTime = await run('snapshotter/export-cli.ts', [
      '--relay',
      relay.url,
      '--at',
      String((snaps[1] as SnapshotSidecar).time),
      '--out',
      past,
    ])
    expect(byTime.stdout).toContain(`version ${(snaps[1] as SnapshotSidecar).version}`)

    // Bad input: usage errors exit 2, unknown versions 1; nothing half-done.
    expect((await run('snapshotter/export-cli.ts', ['--relay', relay.url])).code).toBe(2)
    expect((await run('snapshotter/export-cli.ts', ['--relay', relay.url, '--out', past, '--scale', '0'])).code).toBe(2)
    expect((await run('snapshotter/export-cli.ts', ['--relay', relay.url, '--out', past, '--region', '70,0,20,10'])).code).toBe(2)
    const missing = await run('snapshotter/export-cli.ts', ['--data-dir', relay.dataDir, '--out', past, '--version', '999999'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/no snapshot of main has version 999999/)

    const frames = join(out.dir, 'frames')
    const apng = join(out.dir, 'timelapse.png')
    const tl = await run('snapshotter/timelapse-cli.ts', ['--relay', relay.url, '--out-dir', frames, '--apng', apng, '--scale', '2'])
    expect(tl.code, tl.stderr).toBe(0)
    const kept = readdirSync(join(relay.dataDir, 'snapshots', 'main')).filter((n) => /^\d+\.json$/.test(n)).length
    expect(tl.stdout).toMatch(new RegExp(`^timelapse: ${kept} frames 160x120 px`))
    expect(readdirSync(frames)).toHaveLength(kept)
    expect(readPng(join(frames, `frame-${String(kept).padStart(5, '0')}.png`)).width).toBe(160)
    expect(readPng(apng).width).toBe(160)
  })
})
