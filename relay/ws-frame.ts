/**
 * Server-to-client WebSocket frames (RFC 6455 §5.2) built once and written straight to the TCP
 * socket, for the commit path: a commit's broadcast goes to every socket, and a socket's
 * acknowledgements of that commit go with it in the same write.
 *
 * ws's `send` frames each message for each socket (a header allocation and a stream write per
 * frame, about 2 us each plus a system call per write here); a broadcast framed once and the
 * acknowledgements concatenated make one system call per socket per commit. Writing beside ws
 * is safe because the relay's server has permessage-deflate off and never sends Blobs, the two
 * cases in which ws queues frames instead of writing them at once; callers check that the
 * socket is OPEN (no close frame sent yet).
 */
import type { Duplex } from 'node:stream'

/** Opcode 2 (binary) with FIN set. Server frames are never masked. */
const FIN_BINARY = 0x82

/** The frame (header + payload) that carries `payload` as one binary message. */
export const binaryFrame = (payload: Uint8Array): Buffer => {
  const n = payload.length
  const head = n < 126 ? 2 : n < 65_536 ? 4 : 10
  const out = Buffer.allocUnsafe(head + n)
  out[0] = FIN_BINARY
  if (n < 126) {
    out[1] = n
  } else if (n < 65_536) {
    out[1] = 126
    out.writeUInt16BE(n, 2)
  } else {
    out[1] = 127
    out.writeBigUInt64BE(BigInt(n), 2)
  }
  out.set(payload, head)
  return out
}

// The last payload framed, and its frame: a broadcast is the same payload for every socket.
let lastPayload: Uint8Array | null = null
let lastFrame: Buffer | null = null

const framed = (payload: Uint8Array): Buffer => {
  if (payload !== lastPayload) {
    lastFrame = binaryFrame(payload)
    lastPayload = payload
  }
  return lastFrame as Buffer
}

/**
 * Writes `payloads` as consecutive binary messages in one system call: the first framed through
 * the one-entry cache (the commit's broadcast), the rest concatenated into one buffer.
 */
export const writeMessages = (socket: Duplex, payloads: readonly Uint8Array[]): void => {
  const [first, ...rest] = payloads
  if (!first) return
  if (rest.length === 0) {
    socket.write(framed(first))
    return
  }
  socket.cork()
  socket.write(framed(first))
  socket.write(rest.length === 1 ? binaryFrame(rest[0] as Uint8Array) : Buffer.concat(rest.map(binaryFrame)))
  socket.uncork()
}
