/** Entry point: parse the configuration once, follow every board, stop cleanly on a signal. */
import WebSocket from 'ws'
import { createLog } from '../node-kit/log.ts'
import { parseSnapshotterConfig, snapshotterFlagsToEnv } from './config.ts'
import { watchParent } from './exit-with-parent.ts'
import { startBoardSnapshotter } from './snapshotter.ts'

let config: ReturnType<typeof parseSnapshotterConfig>
try {
  config = parseSnapshotterConfig({ ...process.env, ...snapshotterFlagsToEnv(process.argv.slice(2)) })
} catch (err) {
  console.error(`tessera snapshotter: ${(err as Error).message}`)
  process.exit(2)
}
const logOf = createLog(config.log)
const started = Promise.all(
  config.boards.map((board) => startBoardSnapshotter({ config, board, WebSocket, log: logOf('snapshotter') })),
).catch((err: Error) => {
  // e.g. DATA_DIR not writable, or a snapshot folder held by another snapshotter: say so in one
  // line (start.ts will retry with back-off).
  console.error(`tessera snapshotter: ${err.message}`)
  process.exit(1)
})

// A terminal's Ctrl-C reaches this process twice (from the terminal and forwarded by start.ts):
// handle every signal, stop once. Stopping waits for a snapshot write in flight.
let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await Promise.all((await started).map((s) => s.stop()))
  process.exit(0)
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop())
// Started by start.ts: end with it, however it ended (watched from the start, so that a parent
// that dies while this one starts is noticed too).
if (config.parentPid !== null) {
  const parentPid = config.parentPid
  watchParent(parentPid, (reason) => {
    console.error(`tessera snapshotter: the process that started it (pid ${parentPid}) is gone (${reason}); stopping`)
    void stop()
  })
}

await started
const source = config.natsUrl ? `the stream on ${config.natsUrl}` : config.relay
console.log(`tessera snapshotter: following ${config.boards.join(', ')} at ${source}, writing ${config.dataDir}/snapshots`)
