/**
 * The naive design, for comparison only: a y-websocket-protocol relay (as y-websocket's old
 * server utils did it) in which clients write the board's Y.Map directly. Every client update is
 * applied to one shared Y.Doc in its own transaction and, in 'broadcast' mode, re-sent to every
 * socket as its own message. 'apply-only' skips the fan-out, to isolate the cost of integrating
 * updates from 1,000 distinct client IDs (yjs issue 415).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { type WebSocket, WebSocketServer } from 'ws'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { serveChild } from '../helpers/child.ts'
import { wallMs } from '../helpers/stats.ts'

let applied = 0
/** Time (wallMs) at which every 100th update was applied: the rate is read from these afterwards,
 * because a busy relay answers the runner's questions only when its queue is drained. */
const marks: number[] = []

const start = async (args: { mode: 'broadcast' | 'apply-only' }) => {
  const doc = new Y.Doc()
  const conns = new Set<WebSocket>()
  doc.on('update', (update: Uint8Array) => {
    if (args.mode !== 'broadcast') return
    const enc = encoding.createEncoder()
    encoding.writeVarUint(enc, 0)
    syncProtocol.writeUpdate(enc, update)
    const frame = encoding.toUint8Array(enc)
    for (const c of conns) c.send(frame)
  })
  const server = createServer()
  const wss = new WebSocketServer({ server, perMessageDeflate: false })
  wss.on('connection', (ws) => {
    conns.add(ws)
    ws.on('close', () => conns.delete(ws))
    ws.on('message', (data: Buffer) => {
      const dec = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      const enc = encoding.createEncoder()
      if (decoding.readVarUint(dec) !== 0) return
      encoding.writeVarUint(enc, 0)
      const type = syncProtocol.readSyncMessage(dec, enc, doc, ws)
      if (type !== syncProtocol.messageYjsSyncStep1 && ++applied % 100 === 0) marks.push(wallMs())
      if (encoding.length(enc) > 1) ws.send(encoding.toUint8Array(enc))
    })
    const enc = encoding.createEncoder()
    encoding.writeVarUint(enc, 0)
    syncProtocol.writeSyncStep1(enc, doc)
    ws.send(encoding.toUint8Array(enc))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as AddressInfo).port }
}

serveChild({
  start,
  applied: () => ({ applied, marks }),
})
