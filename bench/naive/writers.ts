/**
 * Naive-design load generator: clients that each hold their own Y.Doc and write the board map
 * directly (map.set('x,y', color), one transaction and one update message per placement). The
 * updates are generated before the timed run; replies and broadcasts are not decoded.
 */
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { serveChild } from '../helpers/child.ts'
import { createPlaceGenerator } from '../helpers/place-generator.ts'
import { clientFrame, connectMany, connectRaw, type RawWs } from '../helpers/raw-ws.ts'

let clients: { ws: RawWs; frames: Buffer }[] = []

const open = async (args: { port: number; n: number; perClient: number; seed: number }) => {
  const gen = createPlaceGenerator({ seed: args.seed, width: 1000, height: 1000 })
  const prepared: Buffer[] = []
  for (let i = 0; i < args.n; i++) {
    const doc = new Y.Doc()
    const map = doc.getMap<number>('board')
    const frames: Buffer[] = []
    doc.on('update', (update: Uint8Array) => {
      const enc = encoding.createEncoder()
      encoding.writeVarUint(enc, 0)
      syncProtocol.writeUpdate(enc, update)
      frames.push(clientFrame(encoding.toUint8Array(enc)))
    })
    for (let k = 0; k < args.perClient; k++) {
      const p = gen.next()
      map.set(`${p.x},${p.y}`, p.color)
    }
    prepared.push(Buffer.concat(frames))
    doc.destroy()
  }
  const sockets = await connectMany(args.n, 64, () => connectRaw({ port: args.port, path: '/board', onMessage: () => {} }))
  clients = sockets.map((ws, i) => ({ ws, frames: prepared[i] as Buffer }))
  return { clients: clients.length }
}

/** Every client writes all its updates at once; TCP back-pressure paces them. */
const go = () => {
  for (const c of clients) c.ws.write(c.frames)
  return null
}

const closeAll = () => {
  for (const c of clients) c.ws.close()
  clients = []
  return null
}

serveChild({ open, go, closeAll })
