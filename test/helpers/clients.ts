/** Real clients of a relay: HTTP calls, y-websocket providers and raw sockets. */
import * as decoding from 'lib0/decoding'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { encodePlace, readError, readPlaceResult, readSession } from '../../shared/frames.ts'
import { solve, solveRange } from '../../shared/proof-of-work.ts'
import { MessageType, type PlaceResult } from '../../shared/protocol.ts'
import { waitFor } from './wait-for.ts'

/** A session as POST /api/session answers it. */
export type TestSession = { token: string; user: string; issuedAt: number; expiresAt: number }

/**
 * Asks the relay for a new anonymous identity as a bot would: POST /api/session, and if the
 * answer is 428 (a proof of work is needed), solve its challenge and POST the solution.
 */
export const newSession = async (baseUrl: string): Promise<TestSession> => {
  let res = await fetch(`${baseUrl}/api/session`, { method: 'POST' })
  if (res.status === 428) {
    const { challenge, bits } = (await res.json()) as { challenge: string; bits: number }
    res = await postSession(baseUrl, { challenge, nonce: solve(challenge, bits) })
  }
  if (!res.ok) throw new Error(`POST /api/session: ${res.status} ${await res.text()}`)
  return (await res.json()) as TestSession
}

/**
 * Solves a proof of work in slices, yielding to the event loop between them, as the browser
 * does. Tests use it at real difficulties (seconds on a busy machine): a solve that held the
 * thread past the relay's keep-alive timeout (5 s) left fetch's pooled connection closed by the
 * relay unnoticed, and the next request on it failed with ECONNRESET.
 */
export const solveYielding = async (challenge: string, bits: number): Promise<string> => {
  for (let from = 0; ; from += 1 << 14) {
    const nonce = solveRange(challenge, bits, from, from + (1 << 14))
    if (nonce !== null) return nonce
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** POST /api/session with a JSON body and optional headers (a token to renew, say). */
export const postSession = (baseUrl: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${baseUrl}/api/session`, {
    method: 'POST',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })

/** POST /api/boards/<board>/place; returns status, body and headers. */
export const placeHttp = async (
  baseUrl: string,
  token: string | null,
  body: unknown,
  board = 'main',
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> => {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...extraHeaders }
  if (token) headers.authorization = `Bearer ${token}`
  const res = await fetch(`${baseUrl}/api/boards/${board}/place`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers }
}

/** An official y-websocket provider on a fresh Y.Doc, connected and synced. */
export const connectProvider = async (
  wsBase: string,
  board = 'main',
  params: Record<string, string> = {},
): Promise<{ doc: Y.Doc; provider: WebsocketProvider; close: () => void }> => {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(wsBase, board, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params,
    disableBc: true,
  })
  await waitFor(() => provider.synced, { what: 'provider sync' })
  // Destroying the doc also destroys the provider's awareness, whose interval would keep the
  // process alive.
  const close = () => {
    provider.destroy()
    doc.destroy()
  }
  return { doc, provider, close }
}

/** A raw WebSocket that records every frame and the close code. */
export type RawSocket = {
  ws: WebSocket
  frames: Uint8Array[]
  closed: () => { code: number; reason: string } | null
  send: (bytes: Uint8Array) => void
  /** Sends a Place frame (with a placement id if given) and waits for its PlaceResult. */
  place: (x: number, y: number, color: number, id?: string) => Promise<PlaceResult>
  /** Error frames received ({ code, message }). */
  errors: () => { code: string; message: string }[]
  close: () => void
}

/** The last Session frame `sock` was sent (its identity, cooldown and ban), or null before any. */
export const lastSession = (sock: RawSocket): ReturnType<typeof readSession> | null => {
  let last: ReturnType<typeof readSession> | null = null
  for (const f of sock.frames) {
    const dec = decoding.createDecoder(f)
    if (decoding.readVarUint(dec) === MessageType.Session) last = readSession(dec)
  }
  return last
}

let nextRequestId = 1

/** Opens a raw socket with handshake `headers` and offered subprotocols (`protocols`, none by default). */
export const openRaw = async (url: string, headers: Record<string, string> = {}, protocols: string[] = []): Promise<RawSocket> => {
  const ws = new WebSocket(url, protocols, { headers })
  const frames: Uint8Array[] = []
  let closed: { code: number; reason: string } | null = null
  ws.binaryType = 'nodebuffer'
  ws.on('message', (data: Buffer) => frames.push(new Uint8Array(data)))
  ws.on('close', (code, reason) => {
    closed = { code, reason: reason.toString() }
  })
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const ofType = (type: number) =>
    frames.flatMap((f) => {
      const dec = decoding.createDecoder(f)
      return decoding.readVarUint(dec) === type ? [dec] : []
    })
  return {
    ws,
    frames,
    closed: () => closed,
    send: (bytes) => ws.send(bytes),
    place: async (x, y, color, id) => {
      const requestId = nextRequestId++
      ws.send(encodePlace(id === undefined ? { requestId, x, y, color } : { requestId, x, y, color, id }))
      return waitFor(
        () => {
          for (const dec of ofType(MessageType.PlaceResult)) {
            const r = readPlaceResult(dec)
            if (r.requestId === requestId) return r.result
          }
          return null
        },
        { what: `PlaceResult ${requestId}` },
      )
    },
    errors: () => ofType(MessageType.Error).map(readError),
    close: () => ws.close(),
  }
}
