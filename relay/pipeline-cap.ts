/**
 * A cap on HTTP/1.1 pipelining: requests one connection has sent that are not yet answered.
 *
 * Node parses every pipelined request a connection sends and starts handling each at once,
 * queueing the answers in order; it has no limit of its own (maxRequestsPerSocket counts a
 * connection's whole life, not what is in flight). One connection could thus make the relay
 * hold thousands of requests (and their history reads) in memory. Browsers do not pipeline and
 * a curl bot sends one request at a time, so a connection beyond the cap is destroyed, not
 * slowed: its unanswered requests are dropped and the client sees the connection close.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** Unanswered requests one connection may have in flight; the next one closes it. */
export const MAX_PIPELINED_REQUESTS = 16

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/**
 * Wraps a request handler: counts each connection's unanswered requests and destroys a
 * connection whose count would pass `max`, without handling that request.
 */
export const capPipelining = (handler: Handler, max: number = MAX_PIPELINED_REQUESTS): Handler => {
  const inFlight = new WeakMap<Socket, number>()
  return (req, res) => {
    const socket = req.socket
    const n = (inFlight.get(socket) ?? 0) + 1
    if (n > max) {
      socket.destroy()
      return
    }
    inFlight.set(socket, n)
    // 'close' follows the answer's end, or the connection's loss: either way it is not in flight.
    res.once('close', () => inFlight.set(socket, (inFlight.get(socket) ?? 1) - 1))
    handler(req, res)
  }
}
