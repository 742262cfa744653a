/**
 * Issue 16: presence across relays. "N online" counts the distinct identities with a page open
 * on a board at the writer and at every edge: pages on edge A and edge B see the same total, an
 * identity with tabs on both edges counts once, and an edge killed (kill -9: it says no goodbye)
 * stops counting once its last Presence message expires, while a tab of the same identity on
 * another edge keeps that identity counted.
 */
import * as decoding from 'lib0/decoding'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MessageType } from '../../shared/protocol.ts'
import { newSession, openRaw, type RawSocket } from '../helpers/clients.ts'
import { type EdgeRig, startEdgeRig } from '../helpers/edge-rig.ts'
import { waitFor } from '../helpers/wait-for.ts'

let rig: EdgeRig
beforeAll(async () => {
  rig = await startEdgeRig({ edges: 2, boards: [{ id: 'main', width: 16, height: 16, shardSize: 16, cooldownMs: 0 }] })
}, 120_000)
afterAll(async () => {
  await rig?.tearDown()
})

/** The last Presence a socket was sent (null before any). */
const lastPresence = (sock: RawSocket): number | null => {
  let last: number | null = null
  for (const f of sock.frames) {
    const dec = decoding.createDecoder(f)
    if (decoding.readVarUint(dec) === MessageType.Presence) last = decoding.readVarUint(dec)
  }
  return last
}
const online = async (base: string) => ((await (await fetch(`${base}/api/boards/main`)).json()) as { online: number }).online

describe('presence across relays', () => {
  it('counts distinct identities across the writer and both edges, and forgets a killed edge', async () => {
    const [a, b] = rig.edges as [EdgeRig['edges'][number], EdgeRig['edges'][number]]
    const w = rig.writer
    const [onlyA, onlyB, both, onWriter] = await Promise.all([
      newSession(a.proc.url),
      newSession(b.proc.url),
      newSession(a.proc.url),
      newSession(w.proc.url),
    ])
    const page = (relay: EdgeRig['writer'], token: string) => openRaw(`${relay.proc.wsBase}/main?tessera=1&token=${token}`)
    const pageA = await page(a, onlyA.token)
    const pageB = await page(b, onlyB.token)
    const bothOnA = await page(a, both.token)
    const bothOnB = await page(b, both.token)
    const pageW = await page(w, onWriter.token)
    // A reader without an identity counts nowhere.
    const anonymous = await openRaw(`${b.proc.wsBase}/main?tessera=1`)
    const pages = [pageA, pageB, bothOnA, bothOnB, pageW, anonymous]
    // Four people: `both` has a tab on each edge and counts once.
    await waitFor(() => pages.every((p) => lastPresence(p) === 4), {
      what: 'Presence 4 on every page',
      timeoutMs: 20_000,
    })
    for (const relay of [w, a, b]) expect(await online(relay.proc.url)).toBe(4)

    // Edge B dies without a word: `onlyB` stops counting once B's last message expires; `both` stays (its tab on A).
    await b.kill()
    const left = [pageA, bothOnA, pageW]
    await waitFor(() => left.every((p) => lastPresence(p) === 3), { what: 'Presence 3 after edge B died', timeoutMs: 30_000 })
    for (const relay of [w, a]) expect(await online(relay.proc.url)).toBe(3)

    // A tab closed on a live edge is seen by the others soon (a coalesced message, not only the heartbeat).
    bothOnA.close()
    await waitFor(() => [pageA, pageW].every((p) => lastPresence(p) === 2), {
      what: 'Presence 2 after the last tab of `both`',
      timeoutMs: 20_000,
    })
    for (const p of pages) p.close()
  }, 90_000)
})
