/** Entry point: parse the configuration once, follow every board, stop cleanly on a signal. */
import WebSocket from 'ws'
import { createLog } from '../relay/log.ts'
import { parseSnapshotterConfig, snapshotterFlagsToEnv } from './config.ts'
import { startBoardSnapshotter } from './snapshotter.ts'

let config: ReturnType<typeof parseSnapshotterConfig>
try {
  config = parseSnapshotterConfig({ ...process.env, ...snapshotterFlagsToEnv(process.argv.slice(2)) })
} catch (err) {
  console.error(`tessera snapshotter: ${(err as Error).message}`)
  process.exit(2)
}
const logOf = createLog(config.log)
const snapshotters = await Promise.all(
  config.boards.map((board) => startBoardSnapshotter({ config, board, WebSocket, log: logOf('snapshotter') })),
).catch((err: Error) => {
  // e.g. DATA_DIR not writable: say so in one line (start.ts will retry with back-off).
  console.error(`tessera snapshotter: ${err.message}`)
  process.exit(1)
})
console.log(`tessera snapshotter: following ${config.boards.join(', ')} at ${config.relay}, writing ${config.dataDir}/snapshots`)
// A terminal's Ctrl-C reaches this process twice (from the terminal and forwarded by start.ts):
// handle every signal, stop once.
let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    Promise.all(snapshotters.map((s) => s.stop())).then(() => process.exit(0))
  })
}
