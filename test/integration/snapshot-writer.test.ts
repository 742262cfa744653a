/**
 * One writer per snapshot folder, as real processes: the snapshotter child of `start.ts` ends
 * with it, even when it is killed with SIGKILL (the next start's snapshotter takes the folder),
 * and a second snapshotter on a folder already held refuses to start, until the holder dies.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Room } from '../../relay/room.ts'
import { parseSidecar } from '../../shared/snapshot-sidecar.ts'
import { stateVectorSum } from '../../shared/update-reader.ts'
import { newSession, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, TEST_LIMITS } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const ENV = { BOARD_COOLDOWN_MS: '0', BOARD_WIDTH: '64', BOARD_HEIGHT: '48', BOARD_SHARD_SIZE: '16' }

const versionOf = (room: Room) => stateVectorSum(Y.decodeStateVector(Y.encodeStateVector(room.doc)))

/**
 * Whether a process exists. An orphan that exited is re-parented to init, which may be slow to
 * reap it (or not reap it at all in a container): a zombie (state Z in /proc) counts as gone.
 */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw err
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ...": the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true // no /proc (not Linux): kill(pid, 0) is all there is
  }
}

const latestVersion = (dir: string): number | null => {
  try {
    return parseSidecar(JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')))?.version ?? null
  } catch {
    return null
  }
}

type Proc = {
  child: ChildProcess
  output: () => string
  code: () => number | null | undefined
  exited: Promise<number | null>
  /** Its stdout and stderr closed too: all its output read ('exit' may come before). */
  closed: Promise<void>
}

/** A child process whose stdout and stderr are collected; `code()` is undefined while it runs. */
const run = (args: string[], env: Record<string, string> = {}): Proc => {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  let code: number | null | undefined
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (c) => {
      code = c
      resolve(c)
    }),
  )
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()))
  return { child, output: () => output, code: () => code, exited, closed }
}

describe('one snapshot writer', () => {
  const cleanup: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })
  /** SIGKILL at teardown for whatever is still running (the test failed half-way). */
  const killAtEnd = (pid: number | undefined) =>
    cleanup.push(() => {
      if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL')
    })

  it('the snapshotter child of start.ts exits when start.ts is killed with SIGKILL; the next start takes the folder', async () => {
    const data = makeTmpDir('tessera-start-')
    cleanup.push(() => data.remove())
    const env = {
      HOST: '127.0.0.1',
      PORT: '0',
      STATIC_DIR: '',
      DATA_DIR: data.dir,
      ...TEST_LIMITS,
      ...ENV,
      SNAPSHOT_EVERY_PLACEMENTS: '1',
      SNAPSHOT_MIN_INTERVAL_MS: '0',
    }
    const dir = join(data.dir, 'snapshots', 'main')

    /** start.ts, its snapshotter's pid (from its log line) once that one follows the board. */
    const startTessera = async () => {
      const p = run(['start.ts'], env)
      killAtEnd(p.child.pid)
      const found = await waitFor(
        () => {
          if (p.code() !== undefined) throw new Error(`start.ts exited (${p.code()}): ${p.output()}`)
          const url = /serving .* on (http:\/\/\S+)/.exec(p.output())?.[1]
          const pid = /snapshotter started \(pid (\d+)\)/.exec(p.output())?.[1]
          return url && pid && /tessera snapshotter: following/.test(p.output()) ? { url, pid: Number(pid) } : null
        },
        { what: 'start.ts with its snapshotter', timeoutMs: 30_000 },
      )
      killAtEnd(found.pid)
      return { ...p, ...found }
    }

    const first = await startTessera()
    expect(alive(first.pid)).toBe(true)
    first.child.kill('SIGKILL')
    await first.exited
    await waitFor(() => !alive(first.pid), { what: `the orphaned snapshotter (pid ${first.pid}) to exit`, timeoutMs: 20_000 })

    // The next start's snapshotter holds the folder and writes to it.
    const second = await startTessera()
    // (The orphan, had it survived, would follow the dead relay's port: it cannot see this one.)
    const before = latestVersion(dir)
    const { token } = await newSession(second.url)
    expect((await placeHttp(second.url, token, { x: 3, y: 4, color: 5 })).status).toBe(200)
    await waitFor(() => latestVersion(dir) !== before, { what: 'a snapshot by the second snapshotter', timeoutMs: 20_000 })
    expect(second.output()).not.toMatch(/in use by another snapshotter/)

    // SIGTERM stops both, cleanly.
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
    await waitFor(() => !alive(second.pid), { what: 'the snapshotter to stop with start.ts' })
  })

  it('without an IPC channel, a snapshotter given --parent-pid exits when that parent is killed with SIGKILL', async () => {
    const data = makeTmpDir('tessera-orphan-')
    cleanup.push(() => data.remove())
    // A parent that opens no channel (stdio inherit only): only the ppid change can tell the child.
    const parentScript = `
      const { spawn } = require('node:child_process')
      const child = spawn(process.execPath, ['--import', 'tsx', 'snapshotter/main.ts', '--relay', 'ws://127.0.0.1:9/ws',
        '--data-dir', ${JSON.stringify(data.dir)}, '--parent-pid', String(process.pid)], { stdio: 'inherit' })
      console.log('child pid ' + child.pid)`
    const parent = spawn(process.execPath, ['-e', parentScript], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    killAtEnd(parent.pid)
    let output = ''
    parent.stdout?.on('data', (d: Buffer) => {
      output += d.toString()
    })
    parent.stderr?.on('data', (d: Buffer) => {
      output += d.toString()
    })
    const pid = await waitFor(() => (/tessera snapshotter: following/.test(output) ? Number(/child pid (\d+)/.exec(output)?.[1]) : null), {
      what: 'the snapshotter to start',
      timeoutMs: 30_000,
    })
    killAtEnd(pid)
    const exited = new Promise((r) => parent.once('exit', r))
    parent.kill('SIGKILL')
    await exited
    await waitFor(() => !alive(pid), { what: `the orphaned snapshotter (pid ${pid}) to exit`, timeoutMs: 20_000 })
    // Its last line may still be in the pipe when it is gone.
    await waitFor(() => /is gone \(the parent is now pid \d+\); stopping/.test(output), { what: 'its reason in the output' })
  })

  it('a second snapshotter on a folder exits non-zero with a message; once the first is killed, a new one takes it', async () => {
    const relay = await startTestRelay({ env: ENV })
    cleanup.push(() => relay.stop())
    const room = relay.rooms.get('main') as Room
    const dir = join(relay.dataDir, 'snapshots', 'main')
    const snapshotter = () => {
      const p = run([
        'snapshotter/main.ts',
        '--relay',
        relay.wsBase,
        '--data-dir',
        relay.dataDir,
        '--every-placements',
        '1',
        '--min-interval-ms',
        '0',
      ])
      killAtEnd(p.child.pid)
      return p
    }
    const following = (p: Proc, what: string) =>
      waitFor(
        () => {
          if (p.code() !== undefined) throw new Error(`${what} exited (${p.code()}): ${p.output()}`)
          return /tessera snapshotter: following/.test(p.output())
        },
        { what, timeoutMs: 30_000 },
      )

    const first = snapshotter()
    await following(first, 'the first snapshotter')
    await waitFor(() => latestVersion(dir) === versionOf(room), { what: 'the first catch-up snapshot', timeoutMs: 20_000 })

    const second = snapshotter()
    // Before the lock existed, the second one followed the board too: fail at once then.
    await waitFor(() => second.code() !== undefined || /following/.test(second.output()), {
      what: 'the second snapshotter to exit',
      timeoutMs: 30_000,
    })
    // Exited: its message may still be in the pipe. (Following: the line below fails at once.)
    if (second.code() !== undefined) await second.closed
    expect(second.code(), second.output()).toBe(1)
    expect(second.output()).toContain(`${dir} is in use by another snapshotter (pid ${first.child.pid})`)
    expect(alive(first.child.pid as number)).toBe(true)

    first.child.kill('SIGKILL')
    await first.exited
    const third = snapshotter()
    await following(third, 'the snapshotter after the first was killed')
    await room.place({ x: 1, y: 2, color: 3 }, { user: 'u', ip: '127.0.0.1', isAdmin: false })
    const target = versionOf(room)
    await waitFor(() => latestVersion(dir) === target, { what: 'a snapshot by the new holder', timeoutMs: 20_000 })
    third.child.kill('SIGTERM')
    expect(await third.exited).toBe(0)
  })
})
