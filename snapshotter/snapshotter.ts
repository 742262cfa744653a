/**
 * One board's snapshot loop: follow the board, and write a snapshot when the board changed and
 * either `everyPlacements` document changes or `everySeconds` have passed since the last one.
 * After a (re)start it catches up at once: the first sync that finds the board different from
 * the newest stored snapshot writes one. It holds the board's snapshot folder (folder-lock.ts)
 * from start to stop: a second snapshotter on the same folder fails to start.
 */

import type { Logger } from '../node-kit/log.ts'
import { readLatest, snapshotDir } from '../node-kit/snapshot-folder.ts'
import type { SnapshotSidecar } from '../shared/snapshot-sidecar.ts'
import { SIDECAR_FORMAT, SnapshotFiles } from '../shared/snapshot-sidecar.ts'
import type { SnapshotterConfig } from './config.ts'
import { lockSnapshotFolder } from './folder-lock.ts'
import { type BoardFollow, followBoard } from './follow.ts'
import { followStream } from './follow-stream.ts'
import { encodePalettePng } from './render-png.ts'
import { prepareSnapshotDir, pruneSnapshots, writeSnapshot } from './store.ts'
import { readStreamDoc, writeStreamDoc } from './stream-doc-file.ts'

export type BoardSnapshotter = {
  readonly board: string
  readonly dir: string
  /** Version of the followed document now (it trails the relay by the network). */
  version: () => number
  /** Whether the follower is connected and synced. */
  synced: () => boolean
  /** Following the stream: the first stream sequence it asked for (null before; always null over a socket). */
  streamFrom: () => number | null
  /** The newest snapshot written or found on disk. */
  latest: () => SnapshotSidecar | null
  /** Writes a snapshot now if the board changed since the latest (used by tests and on shutdown). */
  snapshotNow: () => Promise<SnapshotSidecar | null>
  /** Stops following; waits for a write in flight. */
  stop: () => Promise<void>
}

export type SnapshotterDeps = {
  config: SnapshotterConfig
  board: string
  /** WebSocket constructor for the provider (Node: the `ws` package; unused when following the stream). */
  WebSocket: unknown
  log: Logger
  now?: () => number
  /** Called after each snapshot is durable (tests, metrics). */
  onSnapshot?: (sidecar: SnapshotSidecar) => void
}

/** Whether a snapshot is due (pure). `changes` = document changes since the last snapshot. */
export const snapshotDue = (
  s: { changes: number; msSinceLast: number; msSinceWrite: number; catchUp: boolean },
  c: Pick<SnapshotterConfig, 'everyPlacements' | 'everySeconds' | 'minIntervalMs'>,
): boolean =>
  s.changes !== 0 &&
  s.msSinceWrite >= c.minIntervalMs &&
  (s.catchUp || Math.abs(s.changes) >= c.everyPlacements || s.msSinceLast >= c.everySeconds * 1000)

/** Starts following one board and writing its snapshots. */
export const startBoardSnapshotter = async (deps: SnapshotterDeps): Promise<BoardSnapshotter> => {
  const { config, board, log } = deps
  const now = deps.now ?? Date.now
  const dir = snapshotDir(config.dataDir, board)
  // Before anything else touches the folder: cleaning it up removes a live writer's temporary files.
  const lock = await lockSnapshotFolder(dir)
  let latest: SnapshotSidecar | null
  try {
    await prepareSnapshotDir(dir)
    latest = await readLatest(dir)
  } catch (err) {
    await lock.release()
    throw err
  }
  let catchUp = true
  let lastWriteAt = Number.NEGATIVE_INFINITY
  let writing: Promise<SnapshotSidecar | null> | null = null
  let stopped = false

  // The board's stream (scaling out) when configured, from where the latest snapshot stands;
  // else the relay's socket.
  const follow: BoardFollow = config.natsUrl
    ? followStream({ natsUrl: config.natsUrl, board, resume: await readStreamDoc(dir), log })
    : followBoard({ wsBase: config.relay, board, WebSocket: deps.WebSocket })

  const write = async (): Promise<SnapshotSidecar | null> => {
    const capture = follow.capture()
    if (!capture || capture.version === latest?.version) return null
    const t0 = performance.now()
    const time = now()
    // First where to resume (the same capture): a restart never resumes from before a snapshot it wrote.
    if (capture.resume) await writeStreamDoc(dir, capture.resume)
    const png = encodePalettePng(capture.bitmap, capture.config.width, capture.config.height, capture.config.palette, {
      level: config.pngLevel,
      text: { Tessera: JSON.stringify({ board, version: capture.version, time }) },
    })
    if (latest && capture.version < latest.version) {
      log.warn(`board ${board}: version went back from ${latest.version} to ${capture.version} (was the relay's data replaced?)`)
    }
    const sidecar: SnapshotSidecar = {
      format: SIDECAR_FORMAT,
      board,
      version: capture.version,
      stateVector: Buffer.from(capture.stateVector).toString('base64'),
      epoch: capture.epoch,
      time,
      width: capture.config.width,
      height: capture.config.height,
      palette: [...capture.config.palette],
      configVersion: capture.config.version,
      png: SnapshotFiles.png(capture.version),
      pngBytes: png.length,
      seq: capture.seq,
    }
    await writeSnapshot(dir, png, sidecar)
    latest = sidecar
    const pruned = await pruneSnapshots(dir, now(), config.retention)
    log.info(
      `board ${board}: snapshot ${sidecar.version} (${png.length} bytes, ${(performance.now() - t0).toFixed(0)} ms)` +
        (pruned.length ? `, pruned ${pruned.length}` : ''),
    )
    deps.onSnapshot?.(sidecar)
    return sidecar
  }

  const snapshotNow = (): Promise<SnapshotSidecar | null> => {
    if (writing) return writing.then(() => snapshotNow())
    writing = write()
      .catch((err: Error) => {
        log.error(`board ${board}: snapshot failed: ${err.message}`)
        return null
      })
      .finally(() => {
        writing = null
        lastWriteAt = now()
      })
    return writing
  }

  const check = () => {
    if (stopped || writing || !follow.synced()) return
    const t = now()
    const due = snapshotDue(
      {
        changes: follow.version() - (latest?.version ?? 0),
        msSinceLast: t - (latest?.time ?? Number.NEGATIVE_INFINITY),
        msSinceWrite: t - lastWriteAt,
        catchUp,
      },
      config,
    )
    catchUp = false
    if (due) void snapshotNow()
  }
  follow.onChange(() => {
    // An update arrives in the middle of the provider's message handling: decide after it.
    setImmediate(check)
  })
  const timer = setInterval(check, Math.min(1000, config.everySeconds * 1000))

  return {
    board,
    dir,
    version: follow.version,
    synced: follow.synced,
    streamFrom: () => follow.streamFrom?.() ?? null,
    latest: () => latest,
    snapshotNow,
    stop: async () => {
      stopped = true
      clearInterval(timer)
      if (writing) await writing
      await follow.close()
      await lock.release()
    },
  }
}
