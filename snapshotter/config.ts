/**
 * The snapshotter's configuration: one typed object, parsed once at the entry from the
 * environment with command-line flags over it (`--every-seconds 30` = SNAPSHOT_EVERY_SECONDS).
 */
import { resolve } from 'node:path'
import { type Env, envInt } from '../node-kit/env.ts'
import { namedFlagsToEnv } from '../node-kit/flags.ts'
import { BOARD_ID_PATTERN } from '../shared/board.ts'
import { DEFAULT_RETENTION, parseDuration, parseRetentionTiers, type RetentionPolicy } from './retention.ts'

export type SnapshotterConfig = {
  /**
   * The relay's WebSocket base: the board's socket is <relay>/<board>. Flag --relay, env
   * SNAPSHOT_RELAY; default ws://127.0.0.1:$PORT/ws (PORT default 8080). A URL with no path
   * (ws://host:port) gets /ws appended.
   */
  relay: string
  /**
   * Scaling out (docs/ARCHITECTURE.md): follow each board's JetStream stream on this NATS server
   * instead of a relay socket (snapshotter/follow-stream.ts); `relay` is then unused. Flag --nats,
   * env SNAPSHOT_NATS_URL; default none (follow the relay's socket). Not NATS_URL: a snapshotter
   * started beside a relay that has NATS_URL keeps following that relay unless told.
   */
  natsUrl: string | null
  /** Boards to follow. Flag --board (comma-separated or repeated), env SNAPSHOT_BOARDS; default main. */
  boards: string[]
  /** Snapshots go to DATA_DIR/snapshots/<board>/. Flag --data-dir, env DATA_DIR; default ./data. */
  dataDir: string
  /** A snapshot is due after this many document changes (about one per placement). Env SNAPSHOT_EVERY_PLACEMENTS, default 5000. */
  everyPlacements: number
  /** ...or after this many seconds with any change. Env SNAPSHOT_EVERY_SECONDS, default 60. */
  everySeconds: number
  /** Never two snapshots of one board closer than this, ms. Env SNAPSHOT_MIN_INTERVAL_MS, default 1000. */
  minIntervalMs: number
  /** zlib level of the PNGs, 0..9. Env SNAPSHOT_PNG_LEVEL, default 6. */
  pngLevel: number
  /** Env SNAPSHOT_RETENTION ("1h:10m,1d:1h,30d:1d") and SNAPSHOT_MAX_AGE ("" = never, or e.g. "365d"). */
  retention: RetentionPolicy
  /** Log namespaces (snapshotter, follow; * = all). Env LOG. */
  log: string
  /**
   * Stop when this process is no longer the parent (snapshotter/exit-with-parent.ts): set by
   * start.ts, which also opens an IPC channel to the child, so that its snapshotter ends with it
   * even after a SIGKILL. Flag --parent-pid, env SNAPSHOT_PARENT_PID; default none (standalone:
   * runs until stopped).
   */
  parentPid: number | null
}

const FLAG_TO_ENV: Record<string, string> = {
  relay: 'SNAPSHOT_RELAY',
  nats: 'SNAPSHOT_NATS_URL',
  board: 'SNAPSHOT_BOARDS',
  'data-dir': 'DATA_DIR',
  'every-placements': 'SNAPSHOT_EVERY_PLACEMENTS',
  'every-seconds': 'SNAPSHOT_EVERY_SECONDS',
  'min-interval-ms': 'SNAPSHOT_MIN_INTERVAL_MS',
  'png-level': 'SNAPSHOT_PNG_LEVEL',
  retention: 'SNAPSHOT_RETENTION',
  'max-age': 'SNAPSHOT_MAX_AGE',
  log: 'LOG',
  'parent-pid': 'SNAPSHOT_PARENT_PID',
}

/** Turns `--relay ws://x --board a --board b` into env names; repeated --board values are joined. */
export const snapshotterFlagsToEnv = (argv: readonly string[]): Env => namedFlagsToEnv(argv, FLAG_TO_ENV, ['SNAPSHOT_BOARDS'])

/** Normalises a relay address to the WebSocket base (ws[s]://host:port/ws). */
export const relayWsBase = (text: string): string => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new Error(`relay ${JSON.stringify(text)} is not a URL (e.g. ws://localhost:8080)`)
  }
  if (url.protocol === 'http:') url.protocol = 'ws:'
  else if (url.protocol === 'https:') url.protocol = 'wss:'
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new Error(`relay ${JSON.stringify(text)} must be ws://, wss://, http:// or https://`)
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/ws'
  return url.toString().replace(/\/$/, '')
}

/** Parses the configuration; throws an Error with a readable message on any bad value. */
export const parseSnapshotterConfig = (env: Env, cwd: string = process.cwd()): SnapshotterConfig => {
  const boards = (env.SNAPSHOT_BOARDS || 'main')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean)
  for (const b of boards) if (!BOARD_ID_PATTERN.test(b)) throw new Error(`board id ${JSON.stringify(b)} is not 1..64 of a-z, 0-9, _ and -`)
  const tiers = parseRetentionTiers(env.SNAPSHOT_RETENTION ?? '1h:10m,1d:1h,30d:1d')
  if (!tiers.ok) throw new Error(`SNAPSHOT_RETENTION: ${tiers.error}`)
  let maxAgeMs: number | null = DEFAULT_RETENTION.maxAgeMs
  if (env.SNAPSHOT_MAX_AGE) {
    maxAgeMs = parseDuration(env.SNAPSHOT_MAX_AGE)
    if (maxAgeMs === null) throw new Error(`SNAPSHOT_MAX_AGE must be a duration like 365d, got ${JSON.stringify(env.SNAPSHOT_MAX_AGE)}`)
  }
  return {
    relay: relayWsBase(env.SNAPSHOT_RELAY || `ws://127.0.0.1:${env.PORT || '8080'}`),
    natsUrl: env.SNAPSHOT_NATS_URL || null,
    boards: [...new Set(boards)],
    dataDir: resolve(cwd, env.DATA_DIR || './data'),
    everyPlacements: envInt(env, 'SNAPSHOT_EVERY_PLACEMENTS', 5000, 1, 100_000_000),
    everySeconds: envInt(env, 'SNAPSHOT_EVERY_SECONDS', 60, 1, 7 * 24 * 3600),
    minIntervalMs: envInt(env, 'SNAPSHOT_MIN_INTERVAL_MS', 1000, 0, 3_600_000),
    pngLevel: envInt(env, 'SNAPSHOT_PNG_LEVEL', 6, 0, 9),
    retention: { tiers: tiers.tiers, maxAgeMs },
    log: env.LOG ?? '',
    parentPid: env.SNAPSHOT_PARENT_PID ? envInt(env, 'SNAPSHOT_PARENT_PID', 0, 1, 2 ** 31 - 1) : null,
  }
}
