/**
 * Runs the real relay (relay/main.ts) as its own process on loopback, as an operator would, with
 * limits raised for load. The relay cannot report a port it picked itself, so a free port is
 * found first (bind to 0, close, pass it on).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { solve } from '../../shared/proof-of-work.ts'
import { procCpuMs, procMemKb, ROOT } from './child.ts'

export type RelayProcess = {
  pid: number
  port: number
  /** http://127.0.0.1:port */
  url: string
  dataDir: string
  /** Resident set size, kB (from /proc). */
  rssKb: () => number
  cpuMs: () => number
  /** SIGTERM, wait for exit; removes the data directory unless `keepData`. */
  stop: () => Promise<void>
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })

/** Limits raised so that a benchmark measures throughput, not the abuse guards. */
export const LOAD_ENV: Record<string, string> = {
  BOARD_COOLDOWN_MS: '0',
  MESSAGES_PER_SECOND: '1000000',
  MESSAGE_BURST: '1000000',
  SESSIONS_PER_IP_PER_HOUR: '1000000',
  // Every generator connects from 127.0.0.1: per-address limits would count them all as one client.
  MAX_CONNECTIONS_PER_IP: '1000000',
  IP_PLACEMENTS_PER_SECOND: '10000000',
  IP_PLACEMENT_BURST: '10000000',
  IP_PLACEMENTS_PER_COOLDOWN: '0',
  // mintTokens solves the proof of work as a bot would; 8 bits keeps minting thousands cheap.
  SESSION_POW_BITS: '8',
}

export const waitHealthy = async (url: string, timeoutMs: number, exited: () => boolean): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (exited()) throw new Error('the relay exited during start-up')
    try {
      const res = await fetch(`${url}/api/health`)
      if (res.ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the relay did not answer /api/health within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export const spawnRelay = async (
  opts: { env?: Record<string, string>; dataDir?: string; keepData?: boolean; nodeArgs?: string[]; timeoutMs?: number } = {},
): Promise<RelayProcess> => {
  const port = await freePort()
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'tessera-bench-'))
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    STATIC_DIR: '',
    ...LOAD_ENV,
    ...opts.env,
  }
  // BENCH_PROFILE_DIR (set by `npm run bench -- --profile`): every relay writes a CPU profile there on exit.
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE_DIR] : []
  const cp: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ...profile, ...(opts.nodeArgs ?? []), 'relay/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  let exited = false
  const exit = new Promise<void>((resolve) =>
    cp.once('exit', () => {
      exited = true
      resolve()
    }),
  )
  const url = `http://127.0.0.1:${port}`
  await waitHealthy(url, opts.timeoutMs ?? 60_000, () => exited)
  const pid = cp.pid as number
  return {
    pid,
    port,
    url,
    dataDir,
    rssKb: () => procMemKb(pid).rssKb,
    cpuMs: () => procCpuMs(pid),
    stop: async () => {
      if (!exited) {
        cp.kill('SIGTERM')
        const timer = setTimeout(() => cp.kill('SIGKILL'), 20_000)
        await exit
        clearTimeout(timer)
      }
      if (!opts.keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Mints `count` identities with POST /api/session (as browsers do), `concurrency` at a time. */
export const mintTokens = async (url: string, count: number, concurrency = 32): Promise<string[]> => {
  const tokens: string[] = new Array(count)
  let next = 0
  const lane = async () => {
    while (next < count) {
      const i = next++
      let res = await fetch(`${url}/api/session`, { method: 'POST' })
      if (res.status === 428) {
        // A proof of work is asked for (docs/PROTOCOL.md "Identity"): solve it and ask again.
        const { challenge, bits } = (await res.json()) as { challenge: string; bits: number }
        const body = JSON.stringify({ challenge, nonce: solve(challenge, bits) })
        res = await fetch(`${url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      }
      if (!res.ok) throw new Error(`POST /api/session: ${res.status}`)
      tokens[i] = ((await res.json()) as { token: string }).token
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
  return tokens
}
