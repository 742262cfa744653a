/** A relay in a child process (so that it can be killed with SIGKILL), on a free port. */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { TEST_LIMITS } from './start-relay.ts'
import { waitFor } from './wait-for.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

export type ChildRelay = { url: string; wsBase: string; child: ChildProcess; output: () => string; exited: Promise<number | null> }

export const startChildRelay = async (dataDir: string, env: Record<string, string> = {}): Promise<ChildRelay> => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'relay/main.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', STATIC_DIR: '', DATA_DIR: dataDir, ...TEST_LIMITS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  // Fail at once (with the relay's output) if it exits before it listens.
  const exitedEarly = exited.then((code) => {
    throw new Error(`relay exited (${code}): ${output}`)
  })
  // Once listening, a later exit (a test killing it) is expected: do not report it as unhandled.
  exitedEarly.catch(() => {})
  const url = await Promise.race([
    waitFor(() => /serving .* on (http:\/\/\S+)/.exec(output)?.[1], { timeoutMs: 30_000, what: 'child relay to listen' }),
    exitedEarly,
  ])
  return { url, wsBase: `${url.replace('http', 'ws')}/ws`, child, output: () => output, exited }
}
