/** Small HTTP helpers shared by the API modules: typed errors, JSON answers, bounded JSON bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * An expected failure of a request, answered as { ok: false, error: code, message } with `status`.
 * Thrown inside route handlers and caught once, at the top of the request handler.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
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

/** Reads a JSON body of at most `limit` bytes; an empty body is `ifEmpty` if given, else a 400. */
export const readJson = (req: IncomingMessage, limit: number, ifEmpty?: unknown): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > limit) {
      reject(new HttpError(413, 'too-large', `the body exceeds ${limit} bytes`))
      req.resume()
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        reject(new HttpError(413, 'too-large', `the body exceeds ${limit} bytes`))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('error', reject)
    req.on('end', () => {
      if (chunks.length === 0 && ifEmpty !== undefined) {
        resolve(ifEmpty)
        return
      }
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
      } catch {
        reject(new HttpError(400, 'bad-request', 'the body is not valid JSON'))
      }
    })
  })
