/**
 * Faults: the snapshotter as a real child process (`node --import tsx snapshotter/main.ts`),
 * killed with SIGKILL while it writes snapshots as fast as it can. No visible file may be
 * half-written (every <v>.png and <v>.json and latest.json reads completely), the relay keeps
 * accepting placements throughout, and a restarted snapshotter catches up to the relay.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Room } from '../../relay/room.ts'
import { parseSidecar } from '../../shared/snapshot-sidecar.ts'
import { stateVectorSum } from '../../shared/update-reader.ts'
import { decodePalettePng } from '../../snapshotter/render-png.ts'
import { startTestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** A board large enough that encoding and writing a snapshot takes a while (a window to be killed in). */
const ENV = { BOARD_COOLDOWN_MS: '0', BOARD_WIDTH: '1500', BOARD_HEIGHT: '1500', BOARD_SHARD_SIZE: '64' }

const versionOf = (room: Room) => stateVectorSum(Y.decodeStateVector(Y.encodeStateVector(room.doc)))

/** Every visible file in the folder is complete; returns the versions with a sidecar. */
const checkFolder = (dir: string): number[] => {
  const versions: number[] = []
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue // temp files: never served, removed on start
    const bytes = readFileSync(join(dir, name))
    if (name.endsWith('.png')) {
      const png = decodePalettePng(new Uint8Array(bytes))
      if (!png.ok) throw new Error(`${name}: ${png.error}`)
      expect(png.png.width).toBe(1500)
    } else {
      const sidecar = parseSidecar(JSON.parse(bytes.toString('utf8')))
      expect(sidecar, name).not.toBeNull()
      if (name !== 'latest.json') {
        versions.push(sidecar?.version as number)
        // A visible sidecar always has its PNG, complete and of the size it names.
        expect(readFileSync(join(dir, sidecar?.png as string)).length).toBe(sidecar?.pngBytes)
      }
    }
  }
  return versions
}

describe('snapshotter faults', () => {
  const cleanup: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })

  it('SIGKILL mid-write leaves no half-written file; the relay keeps working; a restart catches up', async () => {
    const relay = await startTestRelay({ env: ENV })
    cleanup.push(() => relay.stop())
    const room = relay.rooms.get('main') as Room
    const dir = join(relay.dataDir, 'snapshots', 'main')

    let child: ChildProcess | null = null
    const spawnSnapshotter = () => {
      const proc = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'snapshotter/main.ts',
          '--relay',
          relay.wsBase,
          '--data-dir',
          relay.dataDir,
          '--every-placements',
          '1',
          '--min-interval-ms',
          '0',
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
      )
      proc.stdout?.resume()
      child = proc
      return proc
    }
    cleanup.push(() => {
      child?.kill('SIGKILL')
    })

    // Placements keep arriving the whole time (the relay must not notice the snapshotter's fate).
    let placing = true
    let placed = 0
    let refused = 0
    const placer = (async () => {
      for (let i = 0; placing; i++) {
        const r = await room.place(
          { x: (i * 37) % 1500, y: (i * 101) % 1500, color: i % 16 },
          { user: 'u', ip: '127.0.0.1', isAdmin: false },
        )
        if (r.ok) placed++
        else refused++
        if (i % 20 === 0) await new Promise((r) => setImmediate(r))
      }
    })()

    let killedMidWrite = 0
    for (let round = 0; round < 3; round++) {
      const proc = spawnSnapshotter()
      const seen = (() => {
        try {
          return readdirSync(dir).filter((n) => n.endsWith('.json')).length
        } catch {
          return 0
        }
      })()
      // Let it write a couple of snapshots, then kill it the moment a temporary file shows: mid-write.
      await waitFor(
        () => {
          try {
            return readdirSync(dir).filter((n) => n.endsWith('.json')).length >= seen + 2
          } catch {
            return false
          }
        },
        { what: `snapshots in round ${round}`, timeoutMs: 20_000 },
      )
      await waitFor(() => readdirSync(dir).some((n) => n.endsWith('.tmp')), {
        what: 'a write in progress',
        intervalMs: 1,
        timeoutMs: 20_000,
      })
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGKILL')
      await exited
      killedMidWrite += readdirSync(dir).some((n) => n.endsWith('.tmp')) ? 1 : 0
      checkFolder(dir)
    }

    // At least one kill left a temporary file behind: it did land inside a write.
    expect(killedMidWrite).toBeGreaterThan(0)
    placing = false
    await placer
    expect(refused).toBe(0)
    expect(placed).toBeGreaterThan(0)

    // Restarted with a slow policy, it still catches up at once to the board as it is now.
    const target = versionOf(room)
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', 'snapshotter/main.ts', '--relay', relay.wsBase, '--data-dir', relay.dataDir, '--every-seconds', '604800'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    proc.stdout?.resume()
    child = proc
    await waitFor(
      () => {
        const latest = parseSidecar(JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')))
        return latest?.version === target
      },
      { what: 'catch-up after restart', timeoutMs: 20_000 },
    )
    const versions = checkFolder(dir)
    expect(versions).toContain(target)
    // Nothing left behind by the killed writers once a snapshotter has started again.
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([])
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})
