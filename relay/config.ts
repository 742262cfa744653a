/**
 * The relay's configuration: one typed object, parsed once at the entry from the environment,
 * command-line flags and an optional DATA_DIR/config.json. Nothing else reads process.env.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type Env, envBool, envInt } from '../node-kit/env.ts'
import { type BoardConfig, DEFAULT_BOARD, parseBoardConfig } from '../shared/board.ts'
import { MAX_POW_BITS } from '../shared/proof-of-work.ts'
import { HostTokenLimits, Limits, SessionLimits } from '../shared/protocol.ts'
import { ADMIN_CHUNK_TILES } from './admin-ops.ts'
import { parseTrustProxy, type TrustProxy } from './client-address.ts'
import { DEFAULT_COMPACTION } from './compaction.ts'

export type RelayConfig = {
  /** Interface to listen on; '' = all interfaces. Env HOST. */
  host: string
  /** TCP port; 0 picks a free one. Env PORT, default 8080. */
  port: number
  /** Where the document, history, secret and snapshots live. Env DATA_DIR, default ./data. */
  dataDir: string
  /** The boards this relay serves; 'main' exists unless the config file declares boards. */
  boards: BoardConfig[]
  /**
   * Minimum milliseconds between two commits of one board. Placements arriving meanwhile share
   * one transaction, one durable write and one broadcast. 0 = commit as soon as the previous
   * commit is durable (group commit). Env TICK_MS, default 0.
   */
  tickMs: number
  /**
   * Minimum milliseconds between two broadcasts of one board's commits to its sockets, on top of
   * the fan-out's own adaptive spacing (relay/fan-out.ts): commits meanwhile reach the sockets
   * together. 0 = adaptive only. Env BROADCAST_MIN_MS, default 0.
   */
  broadcastMinMs: number
  /**
   * Tiles one chunk of a large admin operation (rollback, undo, fill, blank) writes; placements
   * are committed between chunks, so this bounds how long one holds them up (relay/admin-ops.ts).
   * Env ADMIN_CHUNK_TILES, default 256.
   */
  adminChunkTiles: number
  /** Also apply the cooldown per client address (off: schools and carrier NAT share addresses). Env PER_IP_COOLDOWN. */
  perIpCooldown: boolean
  /** Fsync every history write: survives power loss, not just a crash, at some throughput. Env SYNC_WRITES. */
  syncWrites: boolean
  /**
   * Which proxies' X-Forwarded-For entries to believe (relay/client-address.ts): none (default),
   * a hop count, or addresses and CIDR ranges. Env TRUST_PROXY: false, 1 (true = 1), or a list
   * like 10.0.0.0/8,127.0.0.1.
   */
  trustProxy: TrustProxy
  /** New identities one address may be issued per hour. Env SESSIONS_PER_IP_PER_HOUR, default 500. */
  sessionsPerIpPerHour: number
  /** Largest WebSocket frame from a client, bytes. Env MAX_FRAME_BYTES. */
  maxFrameBytes: number
  /** Largest HTTP request body, bytes. Env MAX_BODY_BYTES. */
  maxBodyBytes: number
  /** Heartbeat and liveness-ping interval, ms. Env HEARTBEAT_MS. */
  heartbeatMs: number
  /** Average and burst messages per second per socket before it is closed with 4429. */
  messagesPerSecond: number
  messageBurst: number
  /** Compaction: a shard whose tile writes since its base reach this is compacted. Env COMPACT_SHARD_WRITES. */
  compactShardWrites: number
  /** Compaction: when all shards together hold this many tile writes, the busiest are compacted. */
  compactTotalWrites: number
  /** Directory of the built client to serve at /, or null for none. */
  staticDir: string | null
  /**
   * Origins allowed to embed the client in a frame (CSP frame-ancestors). Empty = this origin
   * only; '*' = anyone. Env EMBED_ORIGINS, comma-separated.
   */
  embedOrigins: string[]
  /**
   * Origins of host pages whose embeds may take identities (POST /api/session from a browser
   * page of that origin, with CORS) and so place. Empty = none besides this origin and
   * EMBED_ORIGINS (embeds elsewhere are read-only); '*' = anyone. Env EMBED_PLACE_ORIGINS,
   * comma-separated.
   */
  embedPlaceOrigins: string[]
  /**
   * The secret (at least 32 characters, used as its UTF-8 bytes) that verifies host tokens
   * without `iss` and those whose `iss` has no per-site secret; null = none. Env EMBED_SECRET.
   */
  embedSecret: string | null
  /**
   * Per-site secrets of host tokens by `iss`: config.json { "embedSites": { "<iss>": { "secret":
   * "..." } } }. A listed issuer's tokens are verified with its secret only.
   */
  embedSites: Record<string, { secret: string }>
  /** Most simultaneous WebSockets from one address (4429 beyond). Env MAX_CONNECTIONS_PER_IP. */
  maxConnectionsPerIp: number
  /** Placements per second one address may make across all its identities, and its burst. */
  ipPlacementsPerSecond: number
  ipPlacementBurst: number
  /**
   * Tile reads (GET …/tiles/<x>/<y> and …/history) one address may make per second at the relay
   * it talks to (relay/request-limit.ts), and at once (twice that). Env
   * TILE_READS_PER_IP_PER_SECOND, default 40: the page's inspector reads the selected tile on each
   * selection, and an arrow key held down moves it at the keyboard's repeat rate (about 30 a
   * second at the fastest common settings), which stays under it however long it is held.
   */
  tileReadsPerIpPerSecond: number
  tileReadBurst: number
  /**
   * Admin calls (/api/admin/…) one address may make per second at the relay it talks to
   * (relay/request-limit.ts; counted before the token is checked), and at once (twice that).
   * Env ADMIN_CALLS_PER_IP_PER_SECOND, default 10: the moderation page asks for about eight
   * things when it opens a board and two every few seconds after; an edge would otherwise pass
   * every call, token or not, to the one writer.
   */
  adminCallsPerIpPerSecond: number
  adminCallBurst: number
  // A person's budget and the cost of identities (docs/PROTOCOL.md "Identity").
  /**
   * Placements one address may make per board cooldown, across all its identities and sockets
   * (0 = no budget). Env IP_PLACEMENTS_PER_COOLDOWN, default 20.
   */
  ipPlacementsPerCooldown: number
  /** Leading zero bits of the proof of work a new identity costs (0 = none). Env SESSION_POW_BITS, default 18. */
  sessionPowBits: number
  /** Milliseconds a token is valid after it is issued or renewed. Env TOKEN_TTL_MS, default 30 days. */
  tokenTtlMs: number
  /** The admin bearer token; null = generate one into DATA_DIR/admin-token on first start. Env ADMIN_TOKEN. */
  adminToken: string | null
  /**
   * Slow HTTP clients: ms a request may take to send its headers, and its whole body. Node checks
   * them every `min(1000, headersTimeoutMs / 4)` ms. Env HEADERS_TIMEOUT_MS (default 10000) and
   * REQUEST_TIMEOUT_MS (default 30000, at least the former).
   */
  headersTimeoutMs: number
  requestTimeoutMs: number
  /** Comma-separated log namespaces to print (relay, ws, http, room, store; * = all). Env LOG. */
  log: string
  /**
   * Bytes of sync and resume answers one address may be sent per second, and at once after a
   * quiet period (relay/answer-budget.ts). An answer is always sent whole once the address's
   * balance is positive, so any board can be loaded. Env SYNC_BYTES_PER_SECOND_PER_IP (8 MiB),
   * SYNC_BURST_BYTES_PER_IP (32 MiB).
   */
  syncBytesPerSecondPerIp: number
  syncBurstBytesPerIp: number
  /**
   * Bytes of live frames a socket may leave unread (beyond the answer it is reading) before it is
   * closed with 4508 TooFarBehind. Env MAX_SOCKET_BACKLOG_BYTES, default 16 MiB.
   */
  maxSocketBacklogBytes: number
  /**
   * Scaling out over NATS JetStream (docs/ARCHITECTURE.md "Scaling out"): null (NATS_URL unset)
   * = one process, as always. `url`: env NATS_URL (e.g. nats://127.0.0.1:4222). `role`: env
   * RELAY_ROLE, `writer` (default: the board's only writer, publishes every commit) or `edge`
   * (follows the writer's streams, serves viewers, forwards placements to the writer).
   * `streamMaxAgeMs` and `streamMaxBytes` bound each board's stream (JetStream drops its oldest
   * messages beyond either; an edge that falls behind them asks the writer for a State and
   * follows from there): env NATS_STREAM_MAX_AGE_MS, default 259200000 (3 days; 0 = no age
   * limit), and NATS_STREAM_MAX_BYTES, default 1073741824 (1 GiB; 0 = no size limit; else at
   * least 16 MiB, to hold several of a large board's State messages). The writer sets them on
   * the streams (an edge only when it makes a stream).
   */
  nats: { url: string; role: 'writer' | 'edge'; streamMaxAgeMs: number; streamMaxBytes: number } | null
  /**
   * The identity secret (base64url, at least 32 bytes) instead of DATA_DIR/secret: edges verify
   * the writer's tokens with it, so give them the content of the writer's DATA_DIR/secret. Env
   * RELAY_SECRET; required when RELAY_ROLE=edge.
   */
  relaySecret: string | null
}

/** Most boards one relay serves: each holds its bitmap and document in memory. */
export const MAX_BOARDS = 64

const originList = (name: string, raw: string | undefined): string[] => {
  const list = (raw ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
  for (const o of list) {
    if (o !== '*' && !/^https?:\/\/[a-z0-9.-]+(:\d+)?$/i.test(o))
      throw new Error(`${name}: ${JSON.stringify(o)} is not * or an origin like https://example.org`)
  }
  return list
}

/** Shortest host token secret, characters: HS256 keys shorter than the hash (32 bytes) weaken it (RFC 7518 3.2). */
export const MIN_EMBED_SECRET_CHARS = 32

const embedSecret = (name: string, raw: unknown): string => {
  if (typeof raw !== 'string' || raw.length < MIN_EMBED_SECRET_CHARS) {
    throw new Error(`${name} must be a string of at least ${MIN_EMBED_SECRET_CHARS} characters (e.g. openssl rand -base64 32)`)
  }
  return raw
}

const embedSites = (file: string, raw: unknown): Record<string, { secret: string }> => {
  if (raw === undefined) return {}
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`${file}: "embedSites" must be an object { "<iss>": { "secret": "..." } }`)
  }
  const sites: Record<string, { secret: string }> = {}
  for (const [iss, site] of Object.entries(raw)) {
    if (iss.length === 0 || iss.length > HostTokenLimits.maxIssChars) {
      throw new Error(`${file}: embedSites keys (iss) must be 1 to ${HostTokenLimits.maxIssChars} characters`)
    }
    sites[iss] = {
      secret: embedSecret(`${file}: embedSites[${JSON.stringify(iss)}].secret`, (site as { secret?: unknown } | null)?.secret),
    }
  }
  return sites
}

const adminToken = (raw: string | undefined): string | null => {
  if (raw === undefined || raw === '') return null
  if (raw.length < 16) throw new Error('ADMIN_TOKEN must be at least 16 characters')
  return raw
}

const trustProxy = (raw: string | undefined): TrustProxy => {
  const parsed = parseTrustProxy(raw)
  if (!parsed.ok) throw new Error(`TRUST_PROXY: ${parsed.error} (give false, a hop count, or addresses and CIDR ranges)`)
  return parsed.trust
}

/** The tile-read limit per address: a rate, and a burst of twice that (two seconds' worth). */
const tileReads = (perSecond: number): Pick<RelayConfig, 'tileReadsPerIpPerSecond' | 'tileReadBurst'> => ({
  tileReadsPerIpPerSecond: perSecond,
  tileReadBurst: 2 * perSecond,
})

/** The admin-call limit per address: a rate, and a burst of twice that. */
const adminCalls = (perSecond: number): Pick<RelayConfig, 'adminCallsPerIpPerSecond' | 'adminCallBurst'> => ({
  adminCallsPerIpPerSecond: perSecond,
  adminCallBurst: 2 * perSecond,
})

const httpTimeouts = (env: Env): { headersTimeoutMs: number; requestTimeoutMs: number } => {
  const headersTimeoutMs = envInt(env, 'HEADERS_TIMEOUT_MS', 10_000, 100, 600_000)
  const requestTimeoutMs = envInt(env, 'REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000)
  // Node refuses a headers timeout longer than the request timeout.
  if (requestTimeoutMs < headersTimeoutMs) throw new Error('REQUEST_TIMEOUT_MS must be at least HEADERS_TIMEOUT_MS')
  return { headersTimeoutMs, requestTimeoutMs }
}

const scaleOut = (env: Env): Pick<RelayConfig, 'nats' | 'relaySecret'> => {
  const role = env.RELAY_ROLE || 'writer'
  if (role !== 'writer' && role !== 'edge') throw new Error(`RELAY_ROLE must be writer or edge, got ${JSON.stringify(role)}`)
  const relaySecret = env.RELAY_SECRET || null
  if (relaySecret !== null && Buffer.from(relaySecret, 'base64url').length < 32)
    throw new Error("RELAY_SECRET must hold at least 32 bytes in base64url (the content of the writer relay's DATA_DIR/secret)")
  if (!env.NATS_URL) {
    if (env.RELAY_ROLE) throw new Error('RELAY_ROLE needs NATS_URL')
    return { nats: null, relaySecret }
  }
  if (role === 'edge' && relaySecret === null)
    throw new Error("RELAY_ROLE=edge needs RELAY_SECRET (the content of the writer relay's DATA_DIR/secret)")
  const streamMaxAgeMs = envInt(env, 'NATS_STREAM_MAX_AGE_MS', 3 * 24 * 3600 * 1000, 0, Number.MAX_SAFE_INTEGER)
  const streamMaxBytes = envInt(env, 'NATS_STREAM_MAX_BYTES', 1024 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER)
  if (streamMaxBytes > 0 && streamMaxBytes < 16 * 1024 * 1024)
    throw new Error('NATS_STREAM_MAX_BYTES must be 0 (no limit) or at least 16777216 (16 MiB)')
  return { nats: { url: env.NATS_URL, role, streamMaxAgeMs, streamMaxBytes }, relaySecret }
}

/**
 * Parses the relay configuration. `env` holds environment variables (flags merged over them).
 * The main board may be shaped with BOARD_WIDTH, BOARD_HEIGHT, BOARD_COOLDOWN_MS,
 * BOARD_PALETTE (comma-separated "#rrggbb") and BOARD_SHARD_SIZE; DATA_DIR/config.json may
 * instead declare { "boards": [ {id, width, ...}, ... ] } (missing fields take the defaults),
 * and may list host sites' token secrets: { "embedSites": { "<iss>": { "secret": "..." } } }.
 * Throws an Error with a readable message on any bad value.
 */
export const parseRelayConfig = (env: Env, cwd: string = process.cwd()): RelayConfig => {
  const dataDir = resolve(cwd, env.DATA_DIR || './data')
  const mainOverrides: Record<string, unknown> = {}
  if (env.BOARD_WIDTH) mainOverrides.width = envInt(env, 'BOARD_WIDTH', 0, 1, 8192)
  if (env.BOARD_HEIGHT) mainOverrides.height = envInt(env, 'BOARD_HEIGHT', 0, 1, 8192)
  if (env.BOARD_COOLDOWN_MS) mainOverrides.cooldownMs = envInt(env, 'BOARD_COOLDOWN_MS', 0, 0, 604_800_000)
  if (env.BOARD_SHARD_SIZE) mainOverrides.shardSize = envInt(env, 'BOARD_SHARD_SIZE', 0, 16, 256)
  if (env.BOARD_PALETTE) mainOverrides.palette = env.BOARD_PALETTE.split(',').map((c) => c.trim())

  let declared: unknown[] = [{ id: DEFAULT_BOARD.id }]
  let sites: Record<string, { secret: string }> = {}
  const configFile = env.CONFIG_FILE ? resolve(cwd, env.CONFIG_FILE) : join(dataDir, 'config.json')
  if (existsSync(configFile)) {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(configFile, 'utf8'))
    } catch (err) {
      throw new Error(`${configFile}: not valid JSON (${(err as Error).message})`)
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${configFile}: must hold a JSON object`)
    const { boards, embedSites: rawSites } = parsed as { boards?: unknown; embedSites?: unknown }
    // A file may declare only embedSites: the boards are then the default one.
    if (boards !== undefined || rawSites === undefined) {
      if (!Array.isArray(boards) || boards.length === 0) throw new Error(`${configFile}: "boards" must be a non-empty array`)
      declared = boards
    }
    sites = embedSites(configFile, rawSites)
  }
  const boards: BoardConfig[] = []
  if (declared.length > MAX_BOARDS) throw new Error(`at most ${MAX_BOARDS} boards per relay (${declared.length} declared)`)
  for (const raw of declared) {
    const merged =
      typeof raw === 'object' && raw !== null && (raw as { id?: unknown }).id === DEFAULT_BOARD.id ? { ...raw, ...mainOverrides } : raw
    const parsed = parseBoardConfig(merged)
    if (!parsed.ok) throw new Error(`board ${JSON.stringify((raw as { id?: unknown })?.id)}: ${parsed.error}`)
    if (boards.some((b) => b.id === parsed.board.id)) throw new Error(`board ${parsed.board.id} is declared twice`)
    boards.push(parsed.board)
  }

  return {
    host: env.HOST ?? '',
    port: envInt(env, 'PORT', 8080, 0, 65535),
    dataDir,
    boards,
    tickMs: envInt(env, 'TICK_MS', 0, 0, 10_000),
    broadcastMinMs: envInt(env, 'BROADCAST_MIN_MS', 0, 0, 1_000),
    adminChunkTiles: envInt(env, 'ADMIN_CHUNK_TILES', ADMIN_CHUNK_TILES, 1, 1 << 20),
    perIpCooldown: envBool(env, 'PER_IP_COOLDOWN', false),
    trustProxy: trustProxy(env.TRUST_PROXY),
    syncWrites: envBool(env, 'SYNC_WRITES', false),
    sessionsPerIpPerHour: envInt(env, 'SESSIONS_PER_IP_PER_HOUR', 500, 1, 1_000_000),
    maxFrameBytes: envInt(env, 'MAX_FRAME_BYTES', Limits.maxFrameBytes, 1024, 64 * 1024 * 1024),
    maxBodyBytes: envInt(env, 'MAX_BODY_BYTES', Limits.maxBodyBytes, 256, 16 * 1024 * 1024),
    heartbeatMs: envInt(env, 'HEARTBEAT_MS', Limits.heartbeatMs, 100, 25_000),
    messagesPerSecond: envInt(env, 'MESSAGES_PER_SECOND', Limits.messagesPerSecond, 1, 1_000_000),
    messageBurst: envInt(env, 'MESSAGE_BURST', Limits.messageBurst, 1, 1_000_000),
    compactShardWrites: envInt(env, 'COMPACT_SHARD_WRITES', DEFAULT_COMPACTION.shardWrites, 16, 1_000_000),
    compactTotalWrites: envInt(env, 'COMPACT_TOTAL_WRITES', DEFAULT_COMPACTION.totalWrites, 1024, 100_000_000),
    staticDir: env.STATIC_DIR === '' ? null : resolve(cwd, env.STATIC_DIR ?? 'dist/client'),
    log: env.LOG ?? '',
    adminToken: adminToken(env.ADMIN_TOKEN),
    embedOrigins: originList('EMBED_ORIGINS', env.EMBED_ORIGINS),
    embedPlaceOrigins: originList('EMBED_PLACE_ORIGINS', env.EMBED_PLACE_ORIGINS),
    embedSecret: env.EMBED_SECRET ? embedSecret('EMBED_SECRET', env.EMBED_SECRET) : null,
    embedSites: sites,
    maxConnectionsPerIp: envInt(env, 'MAX_CONNECTIONS_PER_IP', 256, 1, 1_000_000),
    ipPlacementsPerSecond: envInt(env, 'IP_PLACEMENTS_PER_SECOND', 20, 1, 10_000_000),
    ipPlacementBurst: envInt(env, 'IP_PLACEMENT_BURST', 100, 1, 10_000_000),
    ...tileReads(envInt(env, 'TILE_READS_PER_IP_PER_SECOND', 40, 1, 10_000_000)),
    ...adminCalls(envInt(env, 'ADMIN_CALLS_PER_IP_PER_SECOND', 10, 1, 10_000_000)),
    syncBytesPerSecondPerIp: envInt(env, 'SYNC_BYTES_PER_SECOND_PER_IP', 8 * 1024 * 1024, 1024, 2 ** 40),
    syncBurstBytesPerIp: envInt(env, 'SYNC_BURST_BYTES_PER_IP', 32 * 1024 * 1024, 1024, 2 ** 40),
    maxSocketBacklogBytes: envInt(env, 'MAX_SOCKET_BACKLOG_BYTES', 16 * 1024 * 1024, 64 * 1024, 2 ** 40),
    ...httpTimeouts(env),
    ...scaleOut(env),
    ipPlacementsPerCooldown: envInt(env, 'IP_PLACEMENTS_PER_COOLDOWN', SessionLimits.ipPlacementsPerCooldown, 0, 10_000),
    sessionPowBits: envInt(env, 'SESSION_POW_BITS', SessionLimits.powBits, 0, MAX_POW_BITS),
    tokenTtlMs: envInt(env, 'TOKEN_TTL_MS', SessionLimits.tokenTtlMs, 60_000, 3_650 * 86_400_000),
  }
}
