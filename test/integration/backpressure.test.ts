/**
 * Issue 11, finding 1: a socket that never reads must not make the relay hold an unbounded
 * backlog for it. Past MAX_SOCKET_BACKLOG_BYTES of unread live frames it is closed (4508
 * TooFarBehind, then dropped if it does not read that either), while readers stay connected.
 */
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminCall } from '../helpers/admin.ts'
import { connectProvider } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'backpressure-admin-token-0123456789'

/** A WebSocket handshake on a raw socket that then never reads. */
const openSilent = (port: number, path: string): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let seen = ''
    socket.on('error', () => {})
    socket.on('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    )
    const onData = (d: Buffer) => {
      seen += d.toString('latin1')
      if (!seen.includes('\r\n\r\n')) return
      socket.off('data', onData)
      if (!seen.startsWith('HTTP/1.1 101')) return reject(new Error(seen))
      socket.pause()
      resolve(socket)
    }
    socket.on('data', onData)
  })

describe('a socket that does not read', () => {
  let relay: TestRelay
  beforeAll(async () => {
    relay = await startTestRelay({ env: { ADMIN_TOKEN: ADMIN, MAX_SOCKET_BACKLOG_BYTES: String(256 * 1024) } })
  })
  afterAll(() => relay.stop())

  it('is closed once its unread live frames pass MAX_SOCKET_BACKLOG_BYTES; a reader stays', async () => {
    const room = relay.rooms.get('main')
    if (!room) throw new Error('no main board')
    const reader = await connectProvider(relay.wsBase, 'main')
    const silent = await openSilent(relay.port, '/ws/main')
    await waitFor(() => room.sockets() === 2, { what: 'both sockets counted' })
    // Board-wide fills make large commits (a Yjs update of megabytes each): the kernel's socket
    // buffers fill first, then the relay's backlog for the silent socket grows past the limit.
    for (let i = 0; room.sockets() === 2; i++) {
      if (i === 40) throw new Error('the silent socket was never closed')
      const r = await adminCall(relay.url, ADMIN, 'POST', '/boards/main/fill', { x: 0, y: 0, w: 1000, h: 1000, color: (i % 15) + 1 })
      expect(r.status).toBe(200)
    }
    await waitFor(() => room.sockets() === 1, { what: 'the silent socket dropped' })
    expect(reader.provider.wsconnected).toBe(true)
    silent.destroy()
    reader.close()
  }, 120_000)
})
