/**
 * A writer relay's answers to the admin calls its edges forward (scaling out:
 * docs/ARCHITECTURE.md, relay/admin-forwarder.ts): each request on ADMIN_SUBJECT is replayed as
 * an HTTP request to this relay's own server over loopback, so that the writer's real handler
 * (relay/http-api.ts, relay/admin-api.ts: the token check, every route, its audit entry) answers
 * it, and its status, headers and body go back byte for byte. Tile reads that an edge cannot
 * answer from its own history (READ_SUBJECT) are replayed the same way. A replay carries the
 * client's address the edge sent, in headers only this process can make its handler believe
 * (relay/replay-address.ts), so the handler sees the edge's client, not 127.0.0.1. An answer
 * larger than one NATS message (a history export of a big board) is refused (503) rather than
 * cut: ask the writer.
 */
import { request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from '../node-kit/log.ts'
import {
  ADMIN_SUBJECT,
  type AdminReply,
  type AdminRequest,
  decodeAdminRequest,
  encodeAdminReply,
  READ_SUBJECT,
} from '../shared/stream-messages.ts'
import { isAdminApiRequest, tileReadBoard } from './admin-forwarder.ts'
import type { NatsLink } from './nats-link.ts'
import type { ReplayAddress } from './replay-address.ts'

/** Response headers that belong to one HTTP connection, not to the answer: the edge sets its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date'])
/** Bytes kept free in a reply for its status and headers, under NATS's max_payload. */
const REPLY_OVERHEAD_BYTES = 16 * 1024
/** NATS's default max_payload (bytes), if the server did not say. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024

const json = (status: number, body: unknown, headers: Record<string, string> = {}): AdminReply => {
  const bytes = new TextEncoder().encode(JSON.stringify(body))
  return {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(bytes.length),
      'cache-control': 'no-store',
      ...headers,
    },
    body: bytes,
  }
}

/** Where this relay's own server listens, as a loopback client reaches it. */
const loopback = (server: Server): { host: string; port: number } | null => {
  const a = server.address() as AddressInfo | null
  if (!a || typeof a !== 'object') return null
  const host = a.address === '0.0.0.0' ? '127.0.0.1' : a.address === '::' ? '::1' : a.address
  return { host, port: a.port }
}

/** Runs one forwarded call through the server's own handler; never rejects. */
const replay = (server: Server, addresses: ReplayAddress, req: AdminRequest, maxBody: number): Promise<AdminReply> =>
  new Promise((resolve) => {
    const at = loopback(server)
    if (!at) return resolve(json(503, { ok: false, error: 'unavailable', message: 'the writer relay is not listening' }))
    // The client's address, if the edge sent one (an edge from before the field did not: the
    // handler then sees this loopback connection's address, as it did); a replay either way.
    const headers = {
      ...addresses.strip(req.headers),
      ...addresses.headers(req.address),
      'content-length': String(req.body.length),
    }
    const out = httpRequest({ ...at, method: req.method, path: req.path, headers }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > maxBody) {
          res.destroy()
          resolve(
            json(503, {
              ok: false,
              error: 'too-large',
              message: `the writer's answer exceeds what one NATS message carries (${maxBody} bytes): call the writer relay itself for it`,
            }),
          )
          return
        }
        chunks.push(chunk)
      })
      res.on('end', () => {
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined || HOP_BY_HOP.has(name)) continue
          headers[name] = Array.isArray(value) ? value.join(', ') : value
        }
        resolve({ status: res.statusCode ?? 500, headers, body: Buffer.concat(chunks) })
      })
      res.on('error', () => {})
    })
    out.on('error', (err) =>
      resolve(
        json(
          503,
          { ok: false, error: 'unavailable', message: `the writer relay failed to answer: ${err.message}` },
          { 'retry-after': '1' },
        ),
      ),
    )
    out.end(req.body)
  })

/**
 * Subscribes to ADMIN_SUBJECT (admin calls) and READ_SUBJECT (tile reads); returns the
 * unsubscribe. Only those: NATS is not a way into the writer's other routes.
 */
export const answerAdminCalls = (deps: {
  link: NatsLink
  server: Server
  /** What makes a replay's handler see the client's address (the relay's clientAddress consults it). */
  addresses: ReplayAddress
  log: Logger
}): (() => void) => {
  const { link, server, addresses, log } = deps
  const answer = (subject: string, accepts: (req: AdminRequest) => boolean, what: string) =>
    link.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return
        const req = decodeAdminRequest(msg.data)
        if (!req || !accepts(req)) {
          msg.respond(encodeAdminReply(json(400, { ok: false, error: 'bad-request', message: `not ${what}` })))
          return
        }
        const maxBody = (link.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - REPLY_OVERHEAD_BYTES
        replay(server, addresses, req, maxBody).then(
          (reply) => msg.respond(encodeAdminReply(reply)),
          (e: Error) => log.error(`answering a forwarded request (${what}) failed:`, e.message),
        )
      },
    })
  const subs = [
    answer(ADMIN_SUBJECT, (req) => isAdminApiRequest(req.path), 'an admin request'),
    answer(READ_SUBJECT, (req) => tileReadBoard(req.method, req.path) !== null, 'a tile read'),
  ]
  return () => {
    for (const sub of subs) sub.unsubscribe()
  }
}
