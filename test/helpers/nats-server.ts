/**
 * A real nats-server with JetStream for the edge-relay tests (issue 16): on a free port, with a
 * temporary store directory, in a child process that a test can stop (SIGTERM, or SIGKILL) and
 * start again on the same port and store.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer, connect as tcpConnect } from 'node:net'
import { join } from 'node:path'
import { makeTmpDir } from './tmp-dir.ts'
import { waitFor } from './wait-for.ts'

/** Debian's package installs it here (.ci/run installs it when missing). */
const NATS_SERVER = '/usr/sbin/nats-server'

export type TestNats = {
  /** nats://127.0.0.1:port */
  url: string
  port: number
  /** The server's process id while it runs (null when stopped). */
  pid: () => number | null
  /** Stops the server (SIGKILL with `kill`), keeping its store. */
  stop: (kill?: boolean) => Promise<void>
  /** Starts it again on the same port and store. */
  start: () => Promise<void>
  /** Stops it and removes the store. */
  remove: () => Promise<void>
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })

/**
 * `stopped`: only reserve the port and the store (a test starts it later with `start`).
 * `maxPayload`: the server's max_payload in bytes (its default is 1 MiB), set in a config file.
 */
export const startNats = async (opts: { stopped?: boolean; maxPayload?: number } = {}): Promise<TestNats> => {
  const store = makeTmpDir('tessera-nats-')
  const port = await freePort()
  const configArgs: string[] = []
  if (opts.maxPayload !== undefined) {
    const file = join(store.dir, 'nats.conf')
    writeFileSync(file, `max_payload: ${opts.maxPayload}\n`)
    configArgs.push('-c', file)
  }
  let child: ChildProcess | null = null
  let exited: Promise<void> = Promise.resolve()
  let output = ''
  const start = async () => {
    const c = spawn(NATS_SERVER, [...configArgs, '-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = c
    c.stdout?.on('data', (d: Buffer) => {
      output += d.toString()
    })
    c.stderr?.on('data', (d: Buffer) => {
      output += d.toString()
    })
    exited = new Promise((resolve) => c.once('exit', () => resolve()))
    // Listening, and JetStream ready (it logs this once its store is loaded).
    await waitFor(async () => (await accepts(port)) && /Server is ready/.test(output), {
      timeoutMs: 20_000,
      what: `nats-server on ${port}`,
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${output}`)
    })
  }
  const stop = async (kill = false) => {
    const c = child
    child = null
    output = ''
    if (!c || c.exitCode !== null) return
    c.kill(kill ? 'SIGKILL' : 'SIGTERM')
    await exited
  }
  if (!opts.stopped) await start()
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid: () => (child as ChildProcess | null)?.pid ?? null,
    stop,
    start,
    remove: async () => {
      await stop()
      store.remove()
    },
  }
}
