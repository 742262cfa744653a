/**
 * The relay's connection to NATS (scaling out: docs/ARCHITECTURE.md), loaded only when NATS_URL
 * is set: connects (at start, in the background until NATS answers; then reconnects for as long
 * as the relay runs), makes sure each board's JetStream stream exists with its limits, and tells
 * whether the connection is up now.
 */
import { DiscardPolicy, type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream'
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node'
import type { Logger } from '../node-kit/log.ts'
import { streamNames } from '../shared/stream-messages.ts'

/** Ms between reconnection attempts while NATS is down (forever: the relay outlives a NATS restart). */
const RECONNECT_WAIT_MS = 250
/** Ms within which JetStream dedups a republished Commit message (Nats-Msg-Id). */
const DUPLICATE_WINDOW_MS = 120_000

export type NatsLink = {
  /** The connection; only once `up` resolved true (before, reading it is a bug and throws). */
  readonly nc: NatsConnection
  readonly js: JetStreamClient
  readonly jsm: JetStreamManager
  /** Resolves true once connected with every board's stream there, false if closed first. Never rejects. */
  up: Promise<boolean>
  /** Whether the connection is up now (false until `up`, and between a disconnect and the reconnect). */
  connected: () => boolean
  close: () => Promise<void>
}

/** How long and how large a board's stream may grow (relay/config.ts nats; 0 = no limit). */
export type StreamLimits = {
  maxAgeMs: number
  maxBytes: number
  /** Set them on a stream that exists (the writer). */
  enforce: boolean
}

/**
 * Makes sure every board's stream exists (file storage; JetStream drops its oldest messages
 * beyond `limits`).
 */
const ensureStreams = async (jsm: JetStreamManager, boards: readonly string[], limits: StreamLimits, log: Logger) => {
  // JetStream's "no limit" is -1; max_age 0 is no limit too.
  const bounds = {
    max_age: nanos(limits.maxAgeMs),
    max_bytes: limits.maxBytes > 0 ? limits.maxBytes : -1,
    discard: DiscardPolicy.Old,
  }
  for (const board of boards) {
    const { stream, commits } = streamNames(board)
    const info = await jsm.streams.info(stream).catch(() => null)
    if (info) {
      const { max_age, max_bytes } = info.config
      if (limits.enforce && (max_age !== bounds.max_age || max_bytes !== bounds.max_bytes)) {
        await jsm.streams.update(stream, { ...bounds })
        log.info(`stream ${stream}: limits set to max_age ${limits.maxAgeMs} ms, max_bytes ${bounds.max_bytes}`)
      }
      continue
    }
    try {
      await jsm.streams.add({
        name: stream,
        subjects: [commits],
        storage: StorageType.File,
        duplicate_window: nanos(DUPLICATE_WINDOW_MS),
        ...bounds,
      })
    } catch (err) {
      // Another relay made it meanwhile: fine if it is there now.
      await jsm.streams.info(stream).catch(() => {
        throw err
      })
    }
  }
}

/**
 * Connects to `url` in the background, trying every RECONNECT_WAIT_MS until NATS answers (a
 * relay starts while NATS is down, and serves what it can meanwhile), then makes sure every
 * board's stream exists. Returns at once: `up` tells when the link can be used.
 */
export const openNatsLink = (opts: {
  url: string
  name: string
  boards: readonly string[]
  limits: StreamLimits
  log: Logger
}): NatsLink => {
  const { log } = opts
  let conn: { nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager } | null = null
  let up = false
  let closing = false
  let wake: (() => void) | null = null
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  const upNow = (async (): Promise<boolean> => {
    let failures = 0
    for (;;) {
      if (closing) return false
      try {
        const nc = await connect({
          servers: opts.url,
          name: opts.name,
          maxReconnectAttempts: -1,
          reconnectTimeWait: RECONNECT_WAIT_MS,
          // A NATS server killed without a goodbye is noticed within ~2 missed pings.
          pingInterval: 2_000,
          maxPingOut: 2,
          // Ms one attempt may take (a host that drops packets, rather than refusing).
          timeout: 5_000,
        })
        if (closing) {
          await nc.close()
          return false
        }
        const jsm = await jetstreamManager(nc)
        try {
          await ensureStreams(jsm, opts.boards, opts.limits, log)
        } catch (err) {
          await nc.close()
          throw err
        }
        void (async () => {
          for await (const s of nc.status()) {
            if (s.type === 'disconnect') {
              if (up) log.warn(`NATS ${opts.url}: disconnected; reconnecting`)
              up = false
            } else if (s.type === 'reconnect') {
              up = true
              log.info(`NATS ${opts.url}: reconnected`)
            }
          }
        })()
        conn = { nc, js: jetstream(nc), jsm }
        up = true
        if (failures > 0) log.info(`NATS ${opts.url}: connected`)
        return true
      } catch (err) {
        // Said once, then every ~30 s: the relay keeps serving what it can meanwhile.
        if (failures % Math.ceil(30_000 / RECONNECT_WAIT_MS) === 0)
          log.warn(`NATS ${opts.url}: not reachable (${(err as Error).message}); trying again every ${RECONNECT_WAIT_MS} ms`)
        failures += 1
        await pause(RECONNECT_WAIT_MS)
      }
    }
  })()
  const the = () => {
    if (!conn) throw new Error('NATS link used before it was up')
    return conn
  }
  return {
    get nc() {
      return the().nc
    },
    get js() {
      return the().js
    },
    get jsm() {
      return the().jsm
    },
    up: upNow,
    connected: () => up && conn !== null && !conn.nc.isClosed(),
    close: async () => {
      closing = true
      wake?.()
      await upNow
      const nc = conn?.nc
      if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close())
    },
  }
}
