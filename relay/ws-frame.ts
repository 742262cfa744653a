/**
 * Server-to-client WebSocket frames (RFC 6455 §5.2) built once and written straight to the TCP
 * socket, for the commit path: a broadcast is framed once for every socket (relay/fan-out.ts),
 * and a socket's acknowledgements of a commit leave together in one write.
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

/** Bytes already framed (a broadcast, framed once for every socket), or a payload to frame. */
export type OutFrame = Uint8Array | { framed: Buffer }

/**
 * Writes `frames` as consecutive binary messages in one system call: framed bytes as they are
 * (shared by every socket of a broadcast), payloads framed here.
 */
export const writeMessages = (socket: Duplex, frames: readonly OutFrame[]): void => {
  const bytes = (f: OutFrame): Buffer => (f instanceof Uint8Array ? binaryFrame(f) : f.framed)
  if (frames.length === 0) return
  if (frames.length === 1) {
    socket.write(bytes(frames[0] as OutFrame))
    return
  }
  socket.cork()
  for (const f of frames) socket.write(bytes(f))
  socket.uncork()
}
