/**
 * relay/ws-frame.ts: server frames built by hand (RFC 6455 §5.2) and written beside `ws`. Each
 * header form is checked byte by byte, then every form is sent down a real upgraded socket to a
 * `ws` client, which must receive exactly the payloads, in order, as binary messages.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { binaryFrame, writeMessages } from '../../relay/ws-frame.ts'
import { waitFor } from '../helpers/wait-for.ts'

/** Payload lengths at and around each header form's limits. */
const LENGTHS = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]

const payloadOf = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

/** Decodes one unmasked server frame: FIN, opcode, payload, and the header's size. */
const parseFrame = (frame: Buffer) => {
  const fin = (frame[0] as number) >> 7
  const opcode = (frame[0] as number) & 0x0f
  const masked = (frame[1] as number) >> 7
  let length = (frame[1] as number) & 0x7f
  let head = 2
  if (length === 126) {
    length = frame.readUInt16BE(2)
    head = 4
  } else if (length === 127) {
    length = Number(frame.readBigUInt64BE(2))
    head = 10
  }
  return { fin, opcode, masked, length, head, payload: frame.subarray(head, head + length), rest: frame.length - head - length }
}

describe('binaryFrame', () => {
  it('uses the shortest header form: 7-bit, 16-bit or 64-bit length', () => {
    for (const n of LENGTHS) {
      const payload = payloadOf(n)
      const frame = binaryFrame(payload)
      const f = parseFrame(frame)
      expect({ fin: f.fin, opcode: f.opcode, masked: f.masked, length: f.length, rest: f.rest }, `length ${n}`).toEqual({
        fin: 1,
        opcode: 2,
        masked: 0,
        length: n,
        rest: 0,
      })
      expect(f.head, `length ${n}`).toBe(n < 126 ? 2 : n < 65_536 ? 4 : 10)
      expect(Buffer.compare(f.payload, payload), `length ${n}`).toBe(0)
    }
    expect([...binaryFrame(new Uint8Array(0))]).toEqual([0x82, 0])
    expect([...binaryFrame(payloadOf(125)).subarray(0, 2)]).toEqual([0x82, 125])
    expect([...binaryFrame(payloadOf(126)).subarray(0, 4)]).toEqual([0x82, 126, 0, 126])
    expect([...binaryFrame(payloadOf(65_535)).subarray(0, 4)]).toEqual([0x82, 126, 0xff, 0xff])
    expect([...binaryFrame(payloadOf(65_536)).subarray(0, 10)]).toEqual([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0])
  })
})

describe('frames written beside ws reach a ws client', () => {
  let server: Server
  let wss: WebSocketServer
  /** The raw TCP socket under the server side of the next connection. */
  let nextSocket: Promise<Duplex>
  let resolveSocket: (s: Duplex) => void
  const expectSocket = () => {
    nextSocket = new Promise((resolve) => {
      resolveSocket = resolve
    })
  }

  beforeAll(async () => {
    server = createServer()
    // As the relay's: permessage-deflate off, so ws writes its own frames at once too.
    wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, () => resolveSocket(socket))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  })
  afterAll(async () => {
    for (const ws of wss.clients) ws.terminate()
    wss.close()
    await new Promise((resolve) => server.close(resolve))
  })

  const connect = async () => {
    expectSocket()
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    const received: { data: Buffer; isBinary: boolean }[] = []
    let closed: number | null = null
    client.binaryType = 'nodebuffer'
    client.on('message', (data: Buffer, isBinary) => received.push({ data, isBinary }))
    client.on('close', (code) => {
      closed = code
    })
    await new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve())
      client.once('error', reject)
    })
    return { client, socket: await nextSocket, received, closed: () => closed }
  }

  it('delivers every header form, alone and concatenated in one write', async () => {
    const { client, socket, received, closed } = await connect()
    const payloads = LENGTHS.map((n, i) => payloadOf(n, i))
    // One write per message (a broadcast alone)...
    for (const p of payloads) writeMessages(socket, [p])
    // ...and all in one write (a broadcast and its acknowledgements).
    writeMessages(socket, payloads)
    await waitFor(() => received.length === 2 * payloads.length, { what: 'every message' })
    received.forEach((m, i) => {
      const want = payloads[i % payloads.length] as Uint8Array
      expect(m.isBinary).toBe(true)
      expect(Buffer.compare(m.data, want), `message ${i} (${want.length} bytes)`).toBe(0)
    })
    expect(closed()).toBeNull()
    client.close()
  })

  it('interleaves with ws.send in call order and reuses a broadcast frame for every socket', async () => {
    const a = await connect()
    const b = await connect()
    const serverSide = [...wss.clients]
    expect(serverSide).toHaveLength(2)
    const broadcast = payloadOf(300, 9)
    const ackA = payloadOf(5, 1)
    const ackB = payloadOf(6, 2)
    const before = payloadOf(3, 3)
    const after = payloadOf(4, 4)
    // ws.send and direct writes share the socket: what is called first arrives first.
    for (const ws of serverSide) ws.send(before)
    writeMessages(a.socket, [broadcast, ackA])
    writeMessages(b.socket, [broadcast, ackB, ackA])
    for (const ws of serverSide) ws.send(after)
    await waitFor(() => a.received.length === 4 && b.received.length === 5, { what: 'messages on both sockets' })
    const bytesOf = (r: typeof a.received) => r.map((m) => [...m.data])
    // wss.clients is in connection order (a, then b).
    expect(bytesOf(a.received)).toEqual([before, broadcast, ackA, after].map((p) => [...p]))
    expect(bytesOf(b.received)).toEqual([before, broadcast, ackB, ackA, after].map((p) => [...p]))
    // A different payload with the same bytes length is framed anew (the cache is by identity).
    const other = payloadOf(300, 10)
    writeMessages(a.socket, [other])
    await waitFor(() => a.received.length === 5)
    expect(Buffer.compare(a.received[4]?.data as Buffer, other)).toBe(0)
    a.client.close()
    b.client.close()
  })
})
