/**
 * The relay's connection to NATS (scaling out: docs/ARCHITECTURE.md), loaded only when NATS_URL
 * is set: connects (and reconnects for as long as the relay runs), makes sure each board's
 * JetStream stream exists with its limits, and tells whether the connection is up now.
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
  nc: NatsConnection
  js: JetStreamClient
  jsm: JetStreamManager
  /** Whether the connection is up now (false between a disconnect and the reconnect). */
  connected: () => boolean
  close: () => Promise<void>
}

/** How long and how large a board's stream may grow (relay/config.ts nats; 0 = no limit). */
export type StreamLimits = { maxAgeMs: number; maxBytes: number /** Set them on a stream that exists (the writer). */; enforce: boolean }

/**
 * Connects to `url` and makes sure every board's stream exists (file storage; JetStream drops
 * its oldest messages beyond `limits`).
 */
export const openNatsLink = async (opts: {
  url: string
  name: string
  boards: readonly string[]
  limits: StreamLimits
  log: Logger
}): Promise<NatsLink> => {
  const { log } = opts
  const nc = await connect({
    servers: opts.url,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    // A NATS server killed without a goodbye is noticed within ~2 missed pings.
    pingInterval: 2_000,
    maxPingOut: 2,
  })
  let up = true
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
  const jsm = await jetstreamManager(nc)
  // JetStream's "no limit" is -1; max_age 0 is no limit too.
  const bounds = {
    max_age: nanos(opts.limits.maxAgeMs),
    max_bytes: opts.limits.maxBytes > 0 ? opts.limits.maxBytes : -1,
    discard: DiscardPolicy.Old,
  }
  for (const board of opts.boards) {
    const { stream, commits } = streamNames(board)
    const info = await jsm.streams.info(stream).catch(() => null)
    if (info) {
      const { max_age, max_bytes } = info.config
      if (opts.limits.enforce && (max_age !== bounds.max_age || max_bytes !== bounds.max_bytes)) {
        await jsm.streams.update(stream, { ...bounds })
        log.info(`stream ${stream}: limits set to max_age ${opts.limits.maxAgeMs} ms, max_bytes ${bounds.max_bytes}`)
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
  return {
    nc,
    js: jetstream(nc),
    jsm,
    connected: () => up && !nc.isClosed(),
    close: async () => {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close())
    },
  }
}
