/**
 * Issue 16, per-address cooldowns (PER_IP_COOLDOWN) in State messages: an edge that starts after
 * an address placed, and cannot replay the Commit messages that named it (the stream was purged,
 * so it bootstraps from a State the writer publishes on its request; or the stream was lost and
 * the writer's start republished a State), still puts that address on cooldown in the Session
 * frames of its own pages from it, whatever identity they use (the writer refuses them either way).
 */
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { afterEach, describe, expect, it } from 'vitest'
import { SEQ_HEADER, streamNames } from '../../shared/stream-messages.ts'
import { lastSession, newSession, openRaw, placeHttp, type RawSocket } from '../helpers/clients.ts'
import { type EdgeRig, type RigRelay, startEdgeRig } from '../helpers/edge-rig.ts'
import { lookAtStream } from '../helpers/stream-reader.ts'
import { waitFor } from '../helpers/wait-for.ts'

const COOLDOWN_MS = 600_000
const board = { id: 'main', width: 32, height: 32, shardSize: 16, cooldownMs: COOLDOWN_MS }
// Every relay trusts X-Forwarded-For from loopback: the test process is each one's "proxy".
const env = { TRUST_PROXY: 'loopback', PER_IP_COOLDOWN: 'true' }
const from = (address: string) => ({ 'x-forwarded-for': address })

let rig: EdgeRig | null = null
const sockets: RawSocket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close()
  await rig?.tearDown()
  rig = null
})

/** A page of a fresh identity on `relay` from `address`, once it has its first Session frame. */
const page = async (relay: RigRelay, address: string) => {
  const who = await newSession(relay.proc.url)
  const sock = await openRaw(`${relay.proc.wsBase}/main?tessera=1&token=${who.token}`, from(address))
  sockets.push(sock)
  await waitFor(() => lastSession(sock), { what: `a Session frame on ${relay.name}` })
  return sock
}

/** Places one tile from `address` with a fresh identity through `relay`; returns when that address may place again. */
const placeFrom = async (relay: RigRelay, address: string, x: number) => {
  const { token } = await newSession(relay.proc.url)
  const placed = await placeHttp(relay.proc.url, token, { x, y: 0, color: 2 }, 'main', from(address))
  expect(placed.body, JSON.stringify(placed.body)).toMatchObject({ ok: true })
  return placed.body.nextPlaceAt as number
}

describe("an edge that starts from a State knows the writer's per-address cooldowns", () => {
  it('bootstrapping from a State it asked for (the stream was purged)', async () => {
    rig = await startEdgeRig({ edges: 1, boards: [board], env })
    const edgeA = rig.edges[0] as RigRelay
    // One address placed through edge A, another directly at the writer.
    const untilX = await placeFrom(edgeA, '203.0.113.40', 1)
    const untilY = await placeFrom(rig.writer, '203.0.113.41', 2)
    expect(untilX).toBeGreaterThan(0)
    expect(untilY).toBeGreaterThan(0)
    const look = await lookAtStream(rig.nats.url, 'main')
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === '2', { what: 'both placements in the stream' })
    // Trimmed: edge B cannot replay the Commit messages that named the addresses.
    await look.purge()
    const edgeB = await rig.addEdge()

    // Fresh identities on edge B from both addresses are on their address's cooldown, from a third ready.
    const x = await page(edgeB, '203.0.113.40')
    const y = await page(edgeB, '203.0.113.41')
    const z = await page(edgeB, '203.0.113.42')
    await waitFor(() => lastSession(x)?.nextPlaceAt === untilX, { what: "X's cooldown in edge B's Session frame" })
    await waitFor(() => lastSession(y)?.nextPlaceAt === untilY, { what: "Y's cooldown in edge B's Session frame" })
    // The edge bootstrapped from the writer's State (one message: the stream held none).
    expect((await look.bounds()).messages).toBe(1)
    // As the writer judges: X is refused, Z places.
    expect(await x.place(5, 5, 3)).toMatchObject({ ok: false, error: 'cooldown' })
    expect(lastSession(z)?.nextPlaceAt).toBe(0)
    expect(await z.place(6, 6, 3)).toMatchObject({ ok: true })
    await look.close()
  })

  it("following the State a writer's start republished (the stream was lost)", async () => {
    rig = await startEdgeRig({ edges: 0, boards: [board], env })
    const untilX = await placeFrom(rig.writer, '203.0.113.50', 1)
    const look = await lookAtStream(rig.nats.url, 'main')
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === '1', { what: 'the placement in the stream' })
    await look.close()
    // Stopped (SIGTERM: it saves its per-address cooldowns), the stream lost, started again: it
    // makes the stream anew and publishes its whole document as a State, the stream's first message.
    const writer = rig.writer
    writer.proc.child.kill('SIGTERM')
    await writer.proc.exited
    const nc = await connect({ servers: rig.nats.url })
    await (await jetstreamManager(nc)).streams.delete(streamNames('main').stream)
    await nc.close()
    await writer.restart()
    const again = await lookAtStream(rig.nats.url, 'main')
    await waitFor(async () => (await again.lastHeader(SEQ_HEADER)) === '1', { what: "the writer's State in the new stream" })
    expect(await again.bounds()).toMatchObject({ first: 1, messages: 1 })

    // A new edge follows that stream from its start: the State carries X's cooldown.
    const edge = await rig.addEdge()
    const x = await page(edge, '203.0.113.50')
    await waitFor(() => lastSession(x)?.nextPlaceAt === untilX, { what: "X's cooldown in the edge's Session frame" })
    // It asked for no State of its own: the writer's start State is the only message.
    expect((await again.bounds()).messages).toBe(1)
    expect(lastSession(await page(edge, '203.0.113.51'))?.nextPlaceAt).toBe(0)
    await again.close()
  })
})
