/**
 * The relay: one HTTP server (API + static client) and one WebSocket endpoint per board at
 * /ws/<boardId>, over one port. Owns the stores and the rooms.
 */
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { WebSocketServer } from 'ws'
import { loadOrCreateAdminToken } from '../node-kit/admin-token.ts'
import { createLog } from '../node-kit/log.ts'
import { BOARD_ID_PATTERN } from '../shared/board.ts'
import {
  CloseCode,
  CURSORS_PARAM,
  LIVE_PARAM,
  LiveMode,
  SessionLimits,
  SINCE_PARAM,
  TESSERA_PARAM,
  WS_PROTOCOL,
} from '../shared/protocol.ts'
import { createAdminOps } from './admin-ops.ts'
import { createAnswerBudget } from './answer-budget.ts'
import { createClientAddress } from './client-address.ts'
import type { RelayConfig } from './config.ts'
import { attachConnection, closeWith } from './connection.ts'
import { type HistoryStore, openHistoryStore } from './history-store.ts'
import { createHostNames } from './host-names.ts'
import type { HostTokenKeys } from './host-token.ts'
import { boardInfo, createHttpHandler, readToken } from './http-api.ts'
import { createAnonymiser, createHostUserIds, createTokenSigner, loadOrCreateSecret, TOKEN_REFUSAL } from './identity.ts'
import { limitKey } from './ip-address.ts'
import { openModeration } from './moderation.ts'
import { capPipelining } from './pipeline-cap.ts'
import { createKeyedLimiter } from './rate-limit.ts'
import { createReplayAddress } from './replay-address.ts'
import { createRequestLimit } from './request-limit.ts'
import { isTrustedOrigin } from './request-origin.ts'
import { openRoom, type Room } from './room.ts'
import { createPowGate } from './session-pow.ts'

export type Relay = {
  /** The admin bearer token, and whether it was generated at this start (show it once). */
  admin: { token: string; created: boolean }
  /** http://host:port of the listening server. */
  url: string
  port: number
  rooms: ReadonlyMap<string, Room>
  /** The history store, which holds the board documents too (diagnostics and tests). */
  stores: { history: HistoryStore }
  server: Server
  /** Stops accepting, closes sockets (1001), finishes the commit in flight, closes the stores. */
  close: () => Promise<void>
}

export type RelayOptions = {
  /** Relay clock in ms since the Unix epoch (tests may pass their own). */
  now?: () => number
}

/** Opens the data directory, loads every board and starts listening. */
export const startRelay = async (config: RelayConfig, opts: RelayOptions = {}): Promise<Relay> => {
  const now = opts.now ?? Date.now
  const logOf = createLog(config.log)
  const log = logOf('relay')
  try {
    mkdirSync(config.dataDir, { recursive: true })
    // Fail at start, with the reason, rather than at the first placement.
    const probe = join(config.dataDir, '.write-probe')
    writeFileSync(probe, '')
    unlinkSync(probe)
  } catch (err) {
    throw new Error(`DATA_DIR ${config.dataDir} is not writable: ${(err as Error).message}`)
  }
  // The history store is opened first: its LevelDB lock is what keeps a second relay out.
  const historyLog = logOf('history')
  const history = await openHistoryStore(join(config.dataDir, 'history'), {
    sync: config.syncWrites,
    // A warning, not info: an operator should know why this one start is slow.
    onConvert: (e) =>
      e.phase === 'start'
        ? historyLog.warn('converting the history to record blocks (once; this start takes longer)')
        : historyLog.warn(`converted ${e.records.toLocaleString('en-US')} records to blocks in ${(e.ms / 1000).toFixed(1)} s`),
    // The documents of the earlier layout (their own y-leveldb database) move into the history.
    legacyDocDir: join(config.dataDir, 'doc'),
    onDocMigration: (m) =>
      historyLog.warn(
        `moved ${m.boards} board documents from ${join(config.dataDir, 'doc')} into the history in ${(m.ms / 1000).toFixed(1)} s` +
          (m.movedTo ? `; the old folder is now ${m.movedTo} (delete it once satisfied)` : ''),
      ),
  })
  // Edges verify the writer's tokens: they are given its secret (docs/ARCHITECTURE.md "Scaling out").
  const secret = config.relaySecret ? Buffer.from(config.relaySecret, 'base64url') : loadOrCreateSecret(config.dataDir)
  const anonymise = createAnonymiser(secret)
  const signer = createTokenSigner(secret, config.tokenTtlMs)
  const pow = createPowGate({ secret, bits: config.sessionPowBits, ttlMs: SessionLimits.challengeTtlMs })
  const admin = loadOrCreateAdminToken(config.dataDir, config.adminToken)
  const hostKeys: HostTokenKeys = {
    defaultSecret: config.embedSecret === null ? null : Buffer.from(config.embedSecret, 'utf8'),
    sites: new Map(Object.entries(config.embedSites).map(([iss, site]) => [iss, Buffer.from(site.secret, 'utf8')])),
  }
  const hostIdentities = { keys: hostKeys, userId: createHostUserIds(secret), names: createHostNames(history) }
  const moderation = await openModeration(
    history,
    config.boards.map((b) => b.id),
  )

  // Scaling out (NATS_URL set): the NATS client is loaded only then.
  const nats = config.nats
  const scale = nats
    ? await (await import('./scale-out.ts')).startScaleOut({ ...config, nats }, logOf('nats')).catch(async (err: Error) => {
        await history.close()
        throw new Error(`NATS ${nats.url}: ${err.message}`)
      })
    : null
  const rooms = new Map<string, Room>()
  try {
    for (const board of config.boards) {
      rooms.set(
        board.id,
        await openRoom({
          ...scale?.roomOptions(board.id),
          board,
          history,
          log: logOf('room'),
          tickMs: config.tickMs,
          broadcastMinMs: config.broadcastMinMs,
          // An edge holds the writer's per-address cooldowns whatever its own setting (it takes no
          // placements itself): it has them when the writer publishes them (relay/room-follow.ts).
          perIpCooldown: (config.perIpCooldown || config.nats?.role === 'edge') && { pseudonym: anonymise },
          ipPlacementsPerCooldown: config.ipPlacementsPerCooldown,
          compaction: { shardWrites: config.compactShardWrites, totalWrites: config.compactTotalWrites },
          now,
          moderation,
        }),
      )
    }
    await scale?.start(rooms, history, moderation)
  } catch (err) {
    await scale?.close()
    for (const room of rooms.values()) await room.close()
    await history.close()
    throw err
  }

  // Admin operations a stop interrupted are finished in the background, in the order begun: the
  // relay serves meanwhile (placements interleave with their chunks as with any rollback).
  const ops = createAdminOps({ history, log: logOf('admin'), now, chunkTiles: config.adminChunkTiles })
  await ops.resume(rooms)

  // Placements per address across all its identities and sockets (a bot farm behind one address).
  const placementLimiter = createKeyedLimiter(config.ipPlacementsPerSecond, config.ipPlacementBurst)
  const allowPlacement = (ip: string, t: number) => placementLimiter.take(limitKey(ip), t)
  const addressOf = createClientAddress(config.trustProxy)
  // A writer's replay of an edge's request names the edge's client (relay/replay-address.ts);
  // any other request is resolved from its socket and X-Forwarded-For (TRUST_PROXY).
  const replays = createReplayAddress()
  const clientAddress = (req: IncomingMessage) =>
    replays.vouched(req) ?? addressOf(req.headers['x-forwarded-for'], req.socket.remoteAddress)
  // Tile reads and admin calls per address, where they enter (an edge's forwarded ones too, before they leave it).
  const tileReadLimit = createRequestLimit({
    what: 'tile reads',
    perSecond: config.tileReadsPerIpPerSecond,
    burst: config.tileReadBurst,
    clientAddress,
    replayed: replays.replayed,
    now,
  })
  const adminCallLimit = createRequestLimit({
    what: 'admin calls',
    perSecond: config.adminCallsPerIpPerSecond,
    burst: config.adminCallBurst,
    clientAddress,
    replayed: replays.replayed,
    now,
  })
  const server = createServer(
    {
      // Slow clients: headers within headersTimeoutMs, the whole request within requestTimeoutMs.
      // Node checks both every connectionsCheckingInterval (30 s by default, which let a slow
      // client live 40 s): every second, or a quarter of the headers timeout if shorter.
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(config.headersTimeoutMs / 4))),
    },
    capPipelining(
      createHttpHandler({
        allowPlacement,
        tileReadLimit,
        adminCallLimit,
        clientAddress,
        config,
        rooms,
        signer,
        host: hostIdentities,
        pow,
        history,
        log: logOf('http'),
        now,
        admin: {
          adminToken: admin.token,
          rooms,
          history,
          moderation,
          ops,
          boardInfo,
          anonymise,
          clientAddress,
          maxBodyBytes: config.maxBodyBytes,
          now,
        },
      }),
    ),
  )
  // Admin calls across relays: an edge forwards them to the writer, which answers with this server.
  scale?.guardHttp(server, { clientAddress, addresses: replays, tileReadLimit, adminCallLimit })
  // Sync and resume answers per address, across all its sockets and boards.
  const answerBudget = createAnswerBudget({ bytesPerSecond: config.syncBytesPerSecondPerIp, burstBytes: config.syncBurstBytesPerIp })
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxFrameBytes,
    perMessageDeflate: false,
    // Select 'tessera' when offered and nothing else: a `tessera.token.<token>` entry carries the
    // token (read by readToken) and is never echoed. A browser fails a handshake that offered
    // subprotocols and got none back, so a page must offer 'tessera' with its token.
    handleProtocols: (offered) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  })
  const heartbeats = new Set<() => void>()
  const connectionsByIp = new Map<string, number>()
  const wsLog = logOf('ws')

  server.on('upgrade', (req, socket, head) => {
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://relay.invalid')
    } catch {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')
      return
    }
    const match = /^\/ws\/([^/]*)$/.exec(url.pathname)
    if (!match) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const liveText = url.searchParams.get(LIVE_PARAM)
      const live = liveText === LiveMode.Tiles ? LiveMode.Tiles : LiveMode.Yjs
      const tessera = url.searchParams.get(TESSERA_PARAM) === '1' || live === LiveMode.Tiles
      const sinceText = url.searchParams.get(SINCE_PARAM)
      const since = sinceText === null ? null : /^\d{1,15}$/.test(sinceText) ? Number(sinceText) : Number.NaN
      const ip = clientAddress(req)
      // Counted per limitKey: an IPv6 host holds a /64, not one address.
      const ipKey = limitKey(ip)
      const open = connectionsByIp.get(ipKey) ?? 0
      if (open >= config.maxConnectionsPerIp) {
        closeWith(
          ws,
          tessera,
          CloseCode.RateLimited,
          'too-many-connections',
          `at most ${config.maxConnectionsPerIp} connections from one address`,
        )
        return
      }
      connectionsByIp.set(ipKey, open + 1)
      ws.on('close', () => {
        const left = (connectionsByIp.get(ipKey) ?? 1) - 1
        if (left > 0) connectionsByIp.set(ipKey, left)
        else connectionsByIp.delete(ipKey)
      })
      const id = match[1] as string
      const room = BOARD_ID_PATTERN.test(id) ? rooms.get(id) : undefined
      if (!room) {
        closeWith(ws, tessera, CloseCode.UnknownBoard, 'unknown-board', `no board has the id ${JSON.stringify(id)}`)
        return
      }
      if (liveText !== null && liveText !== LiveMode.Tiles && liveText !== LiveMode.Yjs) {
        closeWith(ws, tessera, CloseCode.Malformed, 'malformed', `${LIVE_PARAM} must be ${LiveMode.Yjs} or ${LiveMode.Tiles}`)
        return
      }
      if (Number.isNaN(since) || (since !== null && live !== LiveMode.Tiles)) {
        closeWith(ws, tessera, CloseCode.Malformed, 'malformed', `${SINCE_PARAM} must be a history seq, on a ${LIVE_PARAM}=tiles socket`)
        return
      }
      const presented = readToken(req, url, signer, now())
      // A cookie sent by a page of another origin (not this relay's, not an EMBED_ORIGINS one)
      // is ignored: the socket is anonymous (it reads, it cannot place). docs/PROTOCOL.md. A
      // token in a header, subprotocol or parameter is the page's own and counts from any origin.
      const foreignCookie =
        presented.kind !== 'none' &&
        presented.source === 'cookie' &&
        !isTrustedOrigin(req.headers.origin, req.headers.host, config.embedOrigins)
      const token = foreignCookie ? ({ kind: 'none' } as const) : presented
      if (token.kind === 'invalid' || token.kind === 'expired') {
        closeWith(ws, tessera, CloseCode.Unauthorized, 'unauthorized', TOKEN_REFUSAL[token.kind])
        return
      }
      const placer = token.kind === 'valid' ? { user: token.identity.user, ip, isAdmin: false } : null
      const { heartbeat } = attachConnection(ws, {
        room,
        socket,
        placer,
        tokenExpiresAt: token.kind === 'valid' ? token.identity.expiresAt : null,
        tessera,
        live,
        since,
        cursors: url.searchParams.get(CURSORS_PARAM) === '1',
        messagesPerSecond: config.messagesPerSecond,
        messageBurst: config.messageBurst,
        ip: ipKey,
        answerBudget,
        maxBacklogBytes: config.maxSocketBacklogBytes,
        allowPlacement,
        log: wsLog,
        now,
      })
      heartbeats.add(heartbeat)
      ws.on('close', () => heartbeats.delete(heartbeat))
    })
  })

  const beat = setInterval(() => {
    for (const h of heartbeats) h()
    for (const room of rooms.values()) room.heartbeat()
  }, config.heartbeatMs)

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host || undefined, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const host = config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : 'localhost'
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  log.info(`listening on ${url}`)

  let closed: Promise<void> | null = null
  return {
    admin,
    url,
    port,
    rooms,
    stores: { history },
    server,
    close: () => {
      closed ??= (async () => {
        clearInterval(beat)
        for (const ws of wss.clients) ws.close(CloseCode.GoingAway, 'relay shutting down')
        const listening = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        // An operation stops between chunks; what is left resumes at the next start.
        await ops.close()
        await scale?.close()
        for (const room of rooms.values()) await room.close()
        await listening
        await history.close()
      })()
      return closed
    },
  }
}

/** The lines an entry prints once the relay listens (the admin token only when it was just created). */
export const startBanner = (relay: Relay, config: RelayConfig): string[] => [
  ...(relay.admin.created ? [`tessera relay: admin token (shown once; kept in ${config.dataDir}/admin-token): ${relay.admin.token}`] : []),
  `tessera relay: serving ${config.boards.map((b) => b.id).join(', ')} on ${relay.url} (data in ${config.dataDir})`,
]
