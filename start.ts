/**
 * `npm start`: the relay in this process and the snapshotter as a child process beside it,
 * pointed at the relay's WebSocket and the same DATA_DIR. The child is restarted when it dies
 * (after 1 s, doubling up to 30 s while it keeps dying within a minute); the relay never depends
 * on it. SIGINT/SIGTERM stop the child (same signal), then the relay. The child also stops by
 * itself when this process is gone, whatever killed it (SIGKILL too), and holds its snapshot
 * folders while it runs: a second snapshotter on them exits at start and is retried here.
 *
 * Flags are the relay's (`--port 9000` = PORT=9000). `--dev` (npm run dev) also starts Vite's dev
 * server (http://localhost:5173, live reload) with /api and /ws proxied to this relay.
 * SNAPSHOTTER=off runs the relay alone. The snapshotter reads its SNAPSHOT_* settings from the
 * same environment (snapshotter/config.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { flagsToEnv } from './node-kit/flags.ts'
import { parseRelayConfig } from './relay/config.ts'
import { startBanner, startRelay } from './relay/relay.ts'

const dev = process.argv.includes('--dev')
const argv = process.argv.slice(2).filter((a) => a !== '--dev')
const env = { ...process.env, ...flagsToEnv(argv) }
const config = parseRelayConfig(env)
const relay = await startRelay(config).catch((err: Error) => {
  console.error(`tessera: ${err.message}`)
  process.exit(1)
})
for (const line of startBanner(relay, config)) console.log(line)

const wsBase = `${relay.url.replace(/^http/, 'ws')}/ws`

if (dev) {
  // vite.config.ts reads RELAY_URL when it is loaded: point its proxy at this relay.
  process.env.RELAY_URL = relay.url
  const { createServer } = await import('vite')
  const vite = await createServer({ configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)) })
  await vite.listen()
  vite.printUrls()
}
const snapshotterMain = fileURLToPath(new URL('./snapshotter/main.ts', import.meta.url))
const enabled = !/^(0|false|no|off)$/i.test(env.SNAPSHOTTER ?? '')

let child: ChildProcess | null = null
let stopping = false
let delayMs = 1000
let restartTimer: NodeJS.Timeout | null = null

const spawnSnapshotter = () => {
  if (stopping) return
  const startedAt = Date.now()
  // `node --import tsx` runs the TypeScript entry without a build step, as `npm run snapshotter` does.
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      snapshotterMain,
      '--relay',
      wsBase,
      '--data-dir',
      config.dataDir,
      '--board',
      config.boards.map((b) => b.id).join(','),
      // The child ends when this process does, by any signal (snapshotter/exit-with-parent.ts):
      // a relay killed with SIGKILL must not leave a snapshotter writing beside the next one's.
      '--parent-pid',
      String(process.pid),
    ],
    // The 'ipc' channel is the sign of this process's death the child watches: the kernel closes it.
    { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env },
  )
  child = proc
  console.log(`tessera: snapshotter started (pid ${proc.pid})`)
  proc.on('exit', (code, signal) => {
    if (child === proc) child = null
    if (stopping) return
    // A child that ran for a minute was healthy: restart it quickly again.
    if (Date.now() - startedAt > 60_000) delayMs = 1000
    console.error(`tessera: snapshotter exited (${signal ?? code}); restarting in ${delayMs} ms`)
    restartTimer = setTimeout(spawnSnapshotter, delayMs)
    delayMs = Math.min(30_000, delayMs * 2)
  })
}
if (enabled) spawnSnapshotter()

const stop = async (signal: NodeJS.Signals) => {
  if (stopping) return
  stopping = true
  if (restartTimer) clearTimeout(restartTimer)
  const running = child
  const exited = running ? new Promise<void>((resolve) => running.once('exit', () => resolve())) : Promise.resolve()
  running?.kill(signal)
  await Promise.all([exited, relay.close()])
  process.exit(0)
}
// process.on, not once: a second Ctrl-C must not kill the relay in the middle of its shutdown.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(signal))
