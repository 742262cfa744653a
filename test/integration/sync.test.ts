/** Real y-websocket providers against a real relay: replication, read-only enforcement, presence. */

import * as decoding from 'lib0/decoding'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readBoardBitmap, rootOf, writeTile } from '../../shared/doc-schema.ts'
import { CloseCode, MessageType } from '../../shared/protocol.ts'
import { sameBytes } from '../helpers/bytes.ts'
import { connectProvider, newSession, openRaw, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

let relay: TestRelay
beforeEach(async () => {
  relay = await startTestRelay({ env: { BOARD_COOLDOWN_MS: '0', HEARTBEAT_MS: '1000' } })
})
afterEach(async () => {
  await relay.stop()
})

const board = () => relay.rooms.get('main')?.bitmap() as Uint8Array

describe('y-websocket replication', () => {
  it('two unmodified providers converge on the relay board', async () => {
    const a = await connectProvider(relay.wsBase)
    const b = await connectProvider(relay.wsBase)
    const { token } = await newSession(relay.url)
    for (let i = 0; i < 20; i++) {
      const r = await placeHttp(relay.url, token, { x: i * 37, y: i * 11, color: (i % 15) + 1 })
      expect(r.status).toBe(200)
    }
    for (const { doc } of [a, b]) {
      await waitFor(() => readBoardBitmap(doc, 1000, 1000)[19 * 11 * 1000 + 19 * 37] === 5, { what: 'last placement' })
      expect(sameBytes(readBoardBitmap(doc, 1000, 1000), board())).toBe(true)
    }
    // A provider that connects later gets the same board from sync step 2.
    const c = await connectProvider(relay.wsBase)
    expect(sameBytes(readBoardBitmap(c.doc, 1000, 1000), board())).toBe(true)
    expect(rootOf(c.doc).get('config')).toMatchObject({ id: 'main', width: 1000, height: 1000, version: 1 })
    for (const p of [a, b, c]) p.close()
  })

  it('a provider that edits its local document changes nothing for anyone and is closed 4403', async () => {
    const writer = await connectProvider(relay.wsBase)
    const reader = await connectProvider(relay.wsBase)
    const { token } = await newSession(relay.url)
    await placeHttp(relay.url, token, { x: 1, y: 1, color: 3 })
    await waitFor(() => readBoardBitmap(reader.doc, 1000, 1000)[1001] === 3)
    const before = board().slice()
    const closes: number[] = []
    writer.provider.on('connection-close', (event: CloseEvent | null) => {
      if (event) closes.push(event.code)
    })
    writer.doc.transact(() => writeTile(writer.doc, 64, 5, 5, 9))
    await waitFor(() => closes.includes(CloseCode.ReadOnly), { what: 'close 4403' })
    // A later, legitimate placement still reaches the reader; the forged tile never does.
    await placeHttp(relay.url, token, { x: 2, y: 2, color: 4 })
    await waitFor(() => readBoardBitmap(reader.doc, 1000, 1000)[2002] === 4)
    expect(readBoardBitmap(reader.doc, 1000, 1000)[5005]).toBe(0)
    expect(board()[5005]).toBe(0)
    before[2002] = 4
    expect(sameBytes(board(), before)).toBe(true)
    // The provider stops reconnecting after a 44xx close.
    expect(writer.provider.shouldConnect).toBe(false)
    writer.close()
    reader.close()
  })

  it('keeps an idle provider connected past its 30 s timeout by heartbeats', async () => {
    const { provider } = await connectProvider(relay.wsBase)
    // The provider reconnects if it received nothing for 30 s; with a 200 ms heartbeat the
    // relay sends a valid empty awareness frame often: count them on a raw socket.
    const raw = await openRaw(`${relay.wsBase}/main`)
    await waitFor(() => raw.frames.filter((f) => f[0] === MessageType.Awareness).length >= 3, { what: 'heartbeats' })
    expect(provider.wsconnected).toBe(true)
    raw.close()
    provider.destroy()
    provider.doc.destroy()
  })

  it('reports the number of connected people (distinct identities) without awareness fan-out', async () => {
    const alice = await newSession(relay.url)
    const raw = await openRaw(`${relay.wsBase}/main?tessera=1&token=${alice.token}`)
    const presence = () =>
      raw.frames.flatMap((f) => {
        const dec = decoding.createDecoder(f)
        return decoding.readVarUint(dec) === MessageType.Presence ? [decoding.readVarUint(dec)] : []
      })
    const online = async () => ((await (await fetch(`${relay.url}/api/boards/main`)).json()) as { online: number }).online
    await waitFor(() => presence().includes(1))
    // Readers that are not a person's page are not counted: y-websocket providers (as the
    // snapshotter reads), and a tessera socket without an identity.
    const others = await Promise.all([connectProvider(relay.wsBase), connectProvider(relay.wsBase)])
    const anonymous = await openRaw(`${relay.wsBase}/main?tessera=1`)
    // Alice's second tab counts once; Bob counts.
    const aliceAgain = await openRaw(`${relay.wsBase}/main?tessera=1&token=${alice.token}`)
    const bob = await newSession(relay.url)
    const bobSocket = await openRaw(`${relay.wsBase}/main?tessera=1&token=${bob.token}`)
    await waitFor(() => presence().at(-1) === 2, { what: 'presence 2' })
    expect(await online()).toBe(2)
    expect(relay.rooms.get('main')?.sockets()).toBe(6)
    bobSocket.close()
    await waitFor(() => presence().at(-1) === 1, { what: 'presence 1 once Bob left' })
    aliceAgain.close()
    anonymous.close()
    await waitFor(() => relay.rooms.get('main')?.sockets() === 3, { what: 'the raw sockets closed' })
    expect(await online()).toBe(1)
    // Awareness from a provider is not relayed to others.
    const awarenessBefore = raw.frames.filter((f) => f[0] === MessageType.Awareness).length
    others[0]?.provider.awareness.setLocalStateField('user', { name: 'x' })
    others[1]?.provider.awareness.setLocalStateField('user', { name: 'y' })
    for (const o of others) o.close()
    await waitFor(() => relay.rooms.get('main')?.sockets() === 1, { what: 'the providers gone' })
    expect(await online()).toBe(1)
    expect(raw.frames.filter((f) => f[0] === MessageType.Awareness).length).toBe(awarenessBefore)
    raw.close()
  })
})

describe('a fresh reader after many placements', () => {
  it('equals the relay board, through compactions and epochs', async () => {
    await relay.stop()
    relay = await startTestRelay({
      env: {
        BOARD_COOLDOWN_MS: '0',
        BOARD_WIDTH: '128',
        BOARD_HEIGHT: '96',
        BOARD_SHARD_SIZE: '16',
        COMPACT_SHARD_WRITES: '16',
        MESSAGES_PER_SECOND: '100000',
        MESSAGE_BURST: '100000',
      },
    })
    const early = await connectProvider(relay.wsBase)
    const sockets = await Promise.all(
      Array.from({ length: 4 }, async () => openRaw(`${relay.wsBase}/main?token=${(await newSession(relay.url)).token}`)),
    )
    let seed = 7
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed % n
    }
    // 3,200 placements in bursts of 100 (25 per socket), so that ticks batch several of them.
    for (let round = 0; round < 32; round++) {
      await Promise.all(sockets.flatMap((s) => Array.from({ length: 25 }, () => s.place(rand(128), rand(96), rand(16)))))
    }
    const late = await connectProvider(relay.wsBase)
    expect(sameBytes(readBoardBitmap(late.doc, 128, 96), board())).toBe(true)
    await waitFor(() => sameBytes(readBoardBitmap(early.doc, 128, 96), board()), { what: 'early reader converged' })
    for (const s of sockets) s.close()
    early.close()
    late.close()
  })
})
