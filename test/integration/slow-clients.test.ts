/**
 * HTTP clients that hold the relay's resources: headers sent slowly, bodies sent slowly, and
 * many pipelined requests on one connection; and HEAD wherever GET is. The relay's timeouts are
 * set small through its configuration, so these wait for the close rather than for minutes.
 */
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_PIPELINED_REQUESTS } from '../../relay/pipeline-cap.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'test-admin-token-0123456789'
let relay: TestRelay
beforeAll(async () => {
  relay = await startTestRelay({
    boards: [{ id: 'main', width: 16, height: 16, cooldownMs: 0 }],
    env: { HEADERS_TIMEOUT_MS: '500', REQUEST_TIMEOUT_MS: '1000', ADMIN_TOKEN: ADMIN },
  })
})
afterAll(async () => {
  await relay.stop()
})

/** A raw TCP connection to the relay that records what it receives and whether it closed. */
const rawConnection = async () => {
  const socket: Socket = connect(relay.port, '127.0.0.1')
  let received = ''
  let closed = false
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1')
  })
  socket.on('close', () => {
    closed = true
  })
  socket.on('error', () => {})
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  return { socket, received: () => received, closed: () => closed }
}

/** Writes `line` every 100 ms until the connection closes (a client trickling its request). */
const trickle = (conn: Awaited<ReturnType<typeof rawConnection>>, line: string) => {
  const timer = setInterval(() => {
    if (!conn.closed()) conn.socket.write(line)
  }, 100)
  return () => clearInterval(timer)
}

describe('slow HTTP clients', () => {
  it('closes a connection whose headers never end (HEADERS_TIMEOUT_MS)', async () => {
    const conn = await rawConnection()
    conn.socket.write('GET /api/health HTTP/1.1\r\nHost: relay\r\n')
    const stop = trickle(conn, 'X-Slow: 1\r\n')
    try {
      await waitFor(conn.closed, { timeoutMs: 8000, what: 'the relay to close a slow-headers connection' })
    } finally {
      stop()
    }
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408/)
  })

  it('closes a connection whose body never ends (REQUEST_TIMEOUT_MS)', async () => {
    const conn = await rawConnection()
    conn.socket.write('POST /api/session HTTP/1.1\r\nHost: relay\r\nContent-Length: 100000\r\n\r\n')
    const stop = trickle(conn, 'x')
    try {
      await waitFor(conn.closed, { timeoutMs: 8000, what: 'the relay to close a slow-body connection' })
    } finally {
      stop()
    }
    // The relay still serves everyone else.
    expect((await fetch(`${relay.url}/api/health`)).status).toBe(200)
  })

  it('closes a connection that pipelines more than the cap of unanswered requests', async () => {
    const conn = await rawConnection()
    const request = 'GET /api/boards/main/tiles/1/1/history HTTP/1.1\r\nHost: relay\r\n\r\n'
    conn.socket.write(request.repeat(100))
    await waitFor(conn.closed, { what: 'the relay to close a connection pipelining 100 requests' })
    const answered = conn.received().match(/HTTP\/1\.1 200/g)?.length ?? 0
    expect(answered).toBeLessThanOrEqual(MAX_PIPELINED_REQUESTS)
    // A client that pipelines within the cap is answered in full.
    const polite = await rawConnection()
    polite.socket.write(request.repeat(MAX_PIPELINED_REQUESTS))
    await waitFor(() => (polite.received().match(/HTTP\/1\.1 200/g)?.length ?? 0) === MAX_PIPELINED_REQUESTS, {
      what: 'every answer within the cap',
    })
    expect(polite.closed()).toBe(false)
    polite.socket.destroy()
  })
})

describe('HEAD', () => {
  it('answers HEAD wherever GET answers, with the headers and no body', async () => {
    const admin = { authorization: `Bearer ${ADMIN}` }
    for (const [path, headers] of [
      ['/api/health', {}],
      ['/api/boards', {}],
      ['/api/boards/main', {}],
      ['/api/boards/main/tiles/1/1', {}],
      ['/api/boards/main/tiles/1/1/history', {}],
      ['/api/admin/bans', admin],
      ['/api/admin/audit', admin],
      ['/api/admin/boards/main', admin],
      ['/api/admin/boards/main/history.csv', admin],
    ] as const) {
      const get = await fetch(`${relay.url}${path}`, { headers })
      await get.arrayBuffer()
      const head = await fetch(`${relay.url}${path}`, { method: 'HEAD', headers })
      expect(head.status, path).toBe(200)
      expect(head.status, path).toBe(get.status)
      expect(head.headers.get('content-type'), path).toBe(get.headers.get('content-type'))
      expect((await head.arrayBuffer()).byteLength, path).toBe(0)
    }
    expect((await fetch(`${relay.url}/api/nowhere`, { method: 'HEAD' })).status).toBe(404)
  })
})
