/**
 * A minimal WebSocket client on a raw TCP socket, for load generators: it parses only frame
 * headers, hands binary payloads to the caller undecoded, answers pings, and sends frames that the
 * caller pre-built (and may concatenate into one write). About a tenth of the CPU of a `ws` client
 * per message, so that the relay, not the generator, is what a benchmark measures.
 */
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'

export type RawWs = {
  socket: Socket
  /** Writes bytes that already hold one or more complete client frames (see clientFrame). */
  write: (frames: Uint8Array) => void
  /** Whether the socket is closed (by either side). */
  closed: () => boolean
  close: () => void
}

/**
 * Called for every binary message: payload (a view into a transient buffer; copy to keep it;
 * empty on a `countOnly` socket), frame size in bytes (header included) and payload size in bytes.
 */
export type OnMessage = (payload: Buffer, frameBytes: number, payloadBytes: number) => void

const EMPTY = Buffer.alloc(0)

const frameHeader = (opcode: number, length: number): Buffer => {
  // Client frames must be masked. An all-zero masking key leaves the payload unchanged: RFC 6455
  // asks clients for unpredictable keys (against proxy cache poisoning), which a server cannot
  // check; on loopback this is harmless and saves the XOR pass.
  let header: Buffer
  if (length < 126) {
    header = Buffer.alloc(6)
    header[1] = 0x80 | length
  } else if (length < 65536) {
    header = Buffer.alloc(8)
    header[1] = 0x80 | 126
    header.writeUInt16BE(length, 2)
  } else {
    header = Buffer.alloc(14)
    header[1] = 0x80 | 127
    header.writeBigUInt64BE(BigInt(length), 2)
  }
  header[0] = 0x80 | opcode
  return header
}

/** A complete masked binary client frame holding `payload`. */
export const clientFrame = (payload: Uint8Array): Buffer => Buffer.concat([frameHeader(0x2, payload.length), payload])

/** Opens a WebSocket to ws://host:port<path>. Resolves once the upgrade is answered with 101. */
export const connectRaw = (opts: {
  port: number
  host?: string
  /** The source address (a loopback 127.0.0.x: each has its own range of ephemeral ports). */
  localAddress?: string
  path: string
  onMessage: OnMessage
  onClose?: () => void
  /**
   * Count binary messages without keeping them: their bytes are dropped as they arrive and
   * onMessage gets an empty payload with the sizes (for multi-megabyte frames to 1,000 sockets,
   * which would otherwise all be buffered whole in the generator at once).
   */
  countOnly?: boolean
}): Promise<RawWs> =>
  new Promise((resolve, reject) => {
    const host = opts.host ?? '127.0.0.1'
    const socket = connect({ port: opts.port, host, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) })
    socket.setNoDelay(true)
    let upgraded = false
    let closed = false
    // Bytes received and not parsed yet: a list of chunks, joined only when a frame is complete.
    let chunks: Buffer[] = []
    let have = 0
    let need = 2
    // countOnly: bytes of the current binary frame still to drop, and that frame's sizes.
    let skipLeft = 0
    let skipFrameBytes = 0
    let skipPayloadBytes = 0
    const ws: RawWs = {
      socket,
      write: (frames) => {
        if (!closed) socket.write(frames)
      },
      closed: () => closed,
      close: () => {
        if (closed) return
        closed = true
        socket.end(Buffer.from([0x88, 0x80, 0, 0, 0, 0]))
        socket.destroySoon()
      },
    }
    socket.on('connect', () => {
      const key = randomBytes(16).toString('base64')
      socket.write(
        `GET ${opts.path} HTTP/1.1\r\nHost: ${host}:${opts.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      )
    })
    socket.on('error', (err) => {
      closed = true
      if (!upgraded) reject(err)
    })
    socket.on('close', () => {
      closed = true
      if (!upgraded) reject(new Error('closed before the upgrade'))
      opts.onClose?.()
    })
    const parse = () => {
      let buf = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, have)
      let off = 0
      for (;;) {
        const left = buf.length - off
        if (left < 2) break
        const b0 = buf[off] as number
        const opcode = b0 & 0x0f
        let len = (buf[off + 1] as number) & 0x7f
        let head = 2
        if (len === 126) {
          if (left < 4) break
          len = buf.readUInt16BE(off + 2)
          head = 4
        } else if (len === 127) {
          if (left < 10) break
          len = Number(buf.readBigUInt64BE(off + 2))
          head = 10
        }
        if (left < head + len) {
          if (opts.countOnly && opcode === 0x2) {
            // Drop what is here and the rest as it arrives (see the 'data' handler).
            skipLeft = head + len - left
            skipFrameBytes = head + len
            skipPayloadBytes = len
            off = buf.length
            need = 2
            break
          }
          need = head + len
          break
        }
        const payload = buf.subarray(off + head, off + head + len)
        if (opcode === 0x2) opts.onMessage(opts.countOnly ? EMPTY : payload, head + len, len)
        else if (opcode === 0x9) socket.write(Buffer.concat([frameHeader(0xa, payload.length), payload]))
        else if (opcode === 0x8) ws.close()
        off += head + len
        need = 2
      }
      buf = buf.subarray(off)
      chunks = buf.length > 0 ? [buf] : []
      have = buf.length
    }
    socket.on('data', (data: Buffer) => {
      let chunk = data
      if (skipLeft > 0) {
        if (chunk.length < skipLeft) {
          skipLeft -= chunk.length
          return
        }
        chunk = chunk.subarray(skipLeft)
        skipLeft = 0
        opts.onMessage(EMPTY, skipFrameBytes, skipPayloadBytes)
        if (chunk.length === 0) return
      }
      chunks.push(chunk)
      have += chunk.length
      if (!upgraded) {
        const all = Buffer.concat(chunks, have)
        const end = all.indexOf('\r\n\r\n')
        if (end < 0) return
        const status = all.subarray(0, all.indexOf('\r\n')).toString('latin1')
        if (!status.startsWith('HTTP/1.1 101')) {
          reject(new Error(`upgrade refused: ${status}`))
          socket.destroy()
          return
        }
        upgraded = true
        chunks = [all.subarray(end + 4)]
        have = all.length - end - 4
        resolve(ws)
      }
      if (have >= need) parse()
    })
  })

/** Opens `count` sockets with at most `concurrency` handshakes in flight. */
export const connectMany = async (count: number, concurrency: number, open: (i: number) => Promise<RawWs>): Promise<RawWs[]> => {
  const out: RawWs[] = new Array(count)
  let next = 0
  const lane = async () => {
    while (next < count) {
      const i = next++
      out[i] = await open(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane))
  return out
}
