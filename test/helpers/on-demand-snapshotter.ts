/**
 * A snapshotter for tests and benches that writes snapshots only when asked (snapshotNow): its
 * placement and time triggers are out of reach, and nothing holds a snapshot back. It follows
 * the board over the y-websocket protocol, as the real one does, and writes into the relay's
 * DATA_DIR, where the relay serves snapshots from.
 */
import WebSocket from 'ws'
import { createLog } from '../../node-kit/log.ts'
import { parseSnapshotterConfig } from '../../snapshotter/config.ts'
import { type BoardSnapshotter, startBoardSnapshotter } from '../../snapshotter/snapshotter.ts'

export const startOnDemandSnapshotter = (opts: { dataDir: string; wsBase: string; board?: string }): Promise<BoardSnapshotter> =>
  startBoardSnapshotter({
    config: parseSnapshotterConfig({
      DATA_DIR: opts.dataDir,
      SNAPSHOT_RELAY: opts.wsBase,
      SNAPSHOT_EVERY_PLACEMENTS: '100000000',
      SNAPSHOT_EVERY_SECONDS: '604800',
      SNAPSHOT_MIN_INTERVAL_MS: '0',
    }),
    board: opts.board ?? 'main',
    WebSocket,
    log: createLog('')('snapshotter'),
  })
