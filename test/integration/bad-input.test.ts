/** Hostile and malformed WebSocket input: named close codes, nothing changes, others unaffected. */
import * as encoding from 'lib0/encoding'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { writeTile } from '../../shared/doc-schema.ts'
import { CloseCode, MessageType } from '../../shared/protocol.ts'
import { connectProvider, newSession, openRaw, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

let relay: TestRelay
beforeAll(async () => {
  relay = await startTestRelay({ env: { BOARD_COOLDOWN_MS: '0', MAX_FRAME_BYTES: '4096', MESSAGES_PER_SECOND: '20', MESSAGE_BURST: '40' } })
})
afterAll(async () => {
  await relay.stop()
})

const syncFrame = (syncType: number, payload: Uint8Array) => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Sync)
  encoding.writeVarUint(enc, syncType)
  encoding.writeVarUint8Array(enc, payload)
  return encoding.toUint8Array(enc)
}

const expectClosedWith = async (frame: Uint8Array | string, code: number, error?: string) => {
  const sock = await openRaw(`${relay.wsBase}/main?tessera=1`)
  sock.ws.send(frame)
  const closed = await waitFor(() => sock.closed(), { what: `close ${code}` })
  expect(closed.code).toBe(code)
  if (error) {
    expect(sock.errors().map((e) => e.code)).toContain(error)
    expect(closed.reason).toBe(error)
  }
}

describe('malformed frames', () => {
  it('close the offending socket with a named code and leave the board and other clients alone', async () => {
    const watcher = await connectProvider(relay.wsBase)
    const { token } = await newSession(relay.url)
    await placeHttp(relay.url, token, { x: 1, y: 1, color: 1 })
    const before = relay.rooms.get('main')?.bitmap().slice() as Uint8Array

    await expectClosedWith(new Uint8Array([0x80]), CloseCode.Malformed, 'malformed') // truncated varint
    await expectClosedWith(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), CloseCode.Malformed)
    await expectClosedWith(new Uint8Array([55]), CloseCode.Malformed, 'malformed') // unknown message type
    await expectClosedWith(new Uint8Array([MessageType.Sync, 9]), CloseCode.Malformed) // unknown sync type
    await expectClosedWith(new Uint8Array([MessageType.Sync, 0, 200, 1]), CloseCode.Malformed) // length beyond the frame
    await expectClosedWith(syncFrame(0, new Uint8Array([5, 1, 2])), CloseCode.Malformed) // bad state vector
    await expectClosedWith(syncFrame(2, new Uint8Array([1, 2, 3, 4, 5])), CloseCode.Malformed) // bad update
    await expectClosedWith(new Uint8Array([MessageType.Place, 1, 2]), CloseCode.Malformed) // truncated Place
    await expectClosedWith('hello', CloseCode.Malformed, 'malformed') // text frame
    await expectClosedWith(new Uint8Array(5000), CloseCode.TooLarge) // over MAX_FRAME_BYTES

    // Seeded random garbage: every frame is either ignored or closes its socket; the relay lives.
    let seed = 42
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed
    }
    for (let i = 0; i < 40; i++) {
      const sock = await openRaw(`${relay.wsBase}/main`)
      const bytes = new Uint8Array(1 + (rand() % 64)).map(() => rand() & 0xff)
      sock.ws.send(bytes)
      // Follow with a sync step 1: a socket still open must still be served.
      sock.ws.send(syncFrame(0, Y.encodeStateVector(new Y.Doc())))
      await waitFor(() => sock.closed() || sock.frames.length > 0, { what: 'an answer or a close' })
      const closed = sock.closed()
      if (closed) expect([CloseCode.Malformed, CloseCode.ReadOnly]).toContain(closed.code)
      sock.close()
    }

    expect(Buffer.compare(relay.rooms.get('main')?.bitmap() as Uint8Array, before)).toBe(0)
    expect(watcher.provider.wsconnected).toBe(true)
    // The watcher still receives placements.
    await placeHttp(relay.url, token, { x: 2, y: 2, color: 2 })
    await waitFor(() => (watcher.doc.getMap('tessera').get('epoch') as Y.Map<Y.Map<number>>)?.get('0,0')?.size === 2)
    watcher.close()
  })

  it('refuses document content from a raw client with 4403', async () => {
    const { doc, close } = await connectProvider(relay.wsBase)
    close()
    const forged = new Y.Doc()
    Y.applyUpdate(forged, Y.encodeStateAsUpdate(doc))
    const sv = Y.encodeStateVector(forged)
    forged.transact(() => writeTile(forged, 64, 9, 9, 9))
    const update = Y.encodeStateAsUpdate(forged, sv)
    await expectClosedWith(syncFrame(2, update), CloseCode.ReadOnly, 'read-only')
    await expectClosedWith(syncFrame(1, update), CloseCode.ReadOnly, 'read-only')
    expect(relay.rooms.get('main')?.bitmap()[9 * 1000 + 9]).toBe(0)
  })

  it('ignores an update that holds nothing new (a read-only peer echoing the relay)', async () => {
    const p = await connectProvider(relay.wsBase)
    const sock = await openRaw(`${relay.wsBase}/main`)
    sock.ws.send(syncFrame(1, Y.encodeStateAsUpdate(p.doc)))
    sock.ws.send(syncFrame(0, Y.encodeStateVector(p.doc)))
    await waitFor(() => sock.frames.length > 0)
    expect(sock.closed()).toBeNull()
    sock.close()
    p.close()
  })
})

describe('connection-level refusals', () => {
  it('closes unknown boards with 4404 and forged tokens with 4401', async () => {
    const unknown = await openRaw(`${relay.wsBase}/nope?tessera=1`)
    expect((await waitFor(() => unknown.closed())).code).toBe(CloseCode.UnknownBoard)
    expect(unknown.errors()[0]?.code).toBe('unknown-board')
    const forged = await openRaw(`${relay.wsBase}/main?token=v1.AAAAAAAAAAAAAAAA.1.AAAA`)
    expect((await waitFor(() => forged.closed())).code).toBe(CloseCode.Unauthorized)
  })

  it('refuses upgrades outside /ws/<board>', async () => {
    const ws = new WebSocket(`${relay.wsBase.replace('/ws', '')}/elsewhere`)
    const failed = await new Promise<boolean>((resolve) => {
      ws.on('open', () => resolve(false))
      ws.on('error', () => resolve(true))
    })
    expect(failed).toBe(true)
  })

  it('closes a flooding socket with 4429 and serves others meanwhile', async () => {
    const { token } = await newSession(relay.url)
    const flood = await openRaw(`${relay.wsBase}/main?token=${token}&tessera=1`)
    const calm = await openRaw(`${relay.wsBase}/main?token=${(await newSession(relay.url)).token}`)
    for (let i = 0; i < 200; i++) flood.ws.send(new Uint8Array([MessageType.QueryAwareness]))
    expect((await waitFor(() => flood.closed(), { what: 'flood closed' })).code).toBe(CloseCode.RateLimited)
    expect(flood.errors()[0]?.code).toBe('rate-limited')
    expect(await calm.place(7, 7, 7)).toMatchObject({ ok: true })
    calm.close()
  })
})
