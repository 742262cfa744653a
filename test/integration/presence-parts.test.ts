/**
 * Issue 16, presence of any size: a relay with more people on a board than one NATS message
 * names (8,160 identity hashes under this server's 64 KiB max_payload) publishes them in parts,
 * and the other relays count the union exactly: two relays' presence exchanges (relay/
 * presence-exchange.ts, the code each relay runs) in this process over a real nats-server, with
 * 20,000 and 10,000 identities of which 5,000 are on both. Pages and sockets are left out (30,000
 * of them would be the test): edge-presence.test.ts covers those with real relays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLog } from '../../node-kit/log.ts'
import { type NatsLink, openNatsLink } from '../../relay/nats-link.ts'
import { createPresenceExchange, type PresenceExchange } from '../../relay/presence-exchange.ts'
import { decodePresenceMessage, streamNames } from '../../shared/stream-messages.ts'
import { startNats, type TestNats } from '../helpers/nats-server.ts'
import { waitFor } from '../helpers/wait-for.ts'

const MAX_PAYLOAD = 65_536
let nats: TestNats
const links: NatsLink[] = []
beforeAll(async () => {
  nats = await startNats({ maxPayload: MAX_PAYLOAD })
}, 60_000)
afterAll(async () => {
  for (const l of links) await l.close()
  await nats?.remove()
})

const log = createLog('')('presence-test')
const relay = async (name: string): Promise<{ link: NatsLink; exchange: PresenceExchange }> => {
  const link = openNatsLink({ url: nats.url, name, boards: ['main'], limits: { maxAgeMs: 0, maxBytes: 0, enforce: false }, log })
  links.push(link)
  expect(await link.up).toBe(true)
  const exchange = createPresenceExchange({ link, boards: ['main'], log })
  exchange.start()
  return { link, exchange }
}

describe('presence larger than one NATS message', () => {
  it('counts the union of two relays of 20,000 and 10,000 people, 5,000 on both', async () => {
    const a = await relay('presence-a')
    const b = await relay('presence-b')
    const seen: { bytes: number; count: number; relay: string }[] = []
    a.link.nc.subscribe(streamNames('main').presence, {
      callback: (_err, msg) => {
        const m = decodePresenceMessage(msg.data)
        if (m) seen.push({ bytes: msg.data.length, count: m.count, relay: m.relay })
      },
    })
    const onA = a.exchange.board('main')
    const onB = b.exchange.board('main')
    for (let i = 0; i < 20_000; i++) onA.joined(`person-${i}`)
    for (let i = 15_000; i < 25_000; i++) onB.joined(`person-${i}`)
    await waitFor(() => onA.people() === 25_000 && onB.people() === 25_000, { what: '25,000 on both relays', timeoutMs: 20_000 })
    // A's 20,000 went in three messages, B's 10,000 in two, none above max_payload.
    expect(Math.max(...seen.map((s) => s.count))).toBe(3)
    expect(seen.some((s) => s.count === 2)).toBe(true)
    for (const s of seen) expect(s.bytes).toBeLessThanOrEqual(MAX_PAYLOAD)

    // 10,000 leave A, which keeps person-10000..19999 (B has 15000..24999): 15,000 people.
    for (let i = 0; i < 10_000; i++) onA.left(`person-${i}`)
    await waitFor(() => onA.people() === 15_000 && onB.people() === 15_000, { what: '15,000 on both relays', timeoutMs: 20_000 })
    // A stops: B counts its own 10,000.
    a.exchange.close()
    await waitFor(() => onB.people() === 10_000, { what: 'B alone', timeoutMs: 20_000 })
    b.exchange.close()
  }, 60_000)
})
