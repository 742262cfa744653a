/** Small HTTP helpers shared by the API modules: typed errors, JSON answers, bounded JSON bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * An expected failure of a request, answered as { ok: false, error: code, message } with `status`.
 * Thrown inside route handlers and caught once, at the top of the request handler.
 */
export class HttpError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(text)
}

/** The 413 refusal of a body over `limit` bytes. */
const tooLarge = (limit: number) => new HttpError(413, 'too-large', `the body exceeds ${limit} bytes`)

/** Each request's body, read once: the first reader's limit is the one that applies. */
const bodies = new WeakMap<IncomingMessage, Promise<Buffer>>()

/** Whether a request declares a body (a non-zero Content-Length, or any Transfer-Encoding). */
export const carriesBody = (req: IncomingMessage): boolean =>
  Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined

/**
 * The one reader of request bodies: at most `limit` bytes, else a 413 (declared lengths are
 * refused before reading; streamed ones as soon as they pass the limit). Read once per request
 * and remembered, so the HTTP handler can apply the limit to every endpoint before routing
 * (relay/http-api.ts) and the handlers that parse the body get the same bytes.
 */
export const readBody = (req: IncomingMessage, limit: number): Promise<Buffer> => {
  const known = bodies.get(req)
  if (known) return known
  const body = new Promise<Buffer>((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > limit) {
      reject(tooLarge(limit))
      req.resume()
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        reject(tooLarge(limit))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('error', reject)
    req.on('end', () => resolve(Buffer.concat(chunks)))
  })
  bodies.set(req, body)
  return body
}

/** Reads a JSON body of at most `limit` bytes; an empty body is `ifEmpty` if given, else a 400. */
export const readJson = async (req: IncomingMessage, limit: number, ifEmpty?: unknown): Promise<unknown> => {
  const bytes = await readBody(req, limit)
  if (bytes.length === 0 && ifEmpty !== undefined) return ifEmpty
  try {
    return JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new HttpError(400, 'bad-request', 'the body is not valid JSON')
  }
}
