/**
 * PER_IP_COOLDOWN: the cooldown also binds an address across identities, survives a relay
 * restart (saved as pseudonyms, never as addresses), and ends when the window has passed; the
 * Session frames of the address's other identities say so. The relay's clock is the test's, so
 * the window passes without waiting.
 */

import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it } from 'vitest'
import { lastSession, newSession, openRaw, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const COOLDOWN_MS = 60_000
const boards = [{ id: 'main', width: 32, height: 32, cooldownMs: COOLDOWN_MS }]

describe('per-address cooldown', () => {
  it('refuses a second identity from the same address, also after a restart, until the window passes', async () => {
    const tmp = makeTmpDir()
    cleanups.push(tmp.remove)
    let clock = 1_800_000_000_000
    const now = () => clock
    const start = () => startTestRelay({ dataDir: tmp.dir, boards, env: { PER_IP_COOLDOWN: 'true' }, now })
    let relay: TestRelay = await start()
    const place = async (x: number) => placeHttp(relay.url, (await newSession(relay.url)).token, { x, y: 0, color: 3 })

    expect((await place(1)).body).toMatchObject({ ok: true })
    clock += 1_000
    const refused = await place(2)
    expect(refused.body).toMatchObject({ ok: false, error: 'cooldown' })
    expect(refused.body.retryAfterMs).toBe(COOLDOWN_MS - 1_000)
    await relay.stop()

    // The saved entries hold no address in the clear.
    const raw = new ClassicLevel<Uint8Array, Uint8Array>(join(tmp.dir, 'history'), { keyEncoding: 'view', valueEncoding: 'view' })
    await raw.open()
    let stored = ''
    for await (const value of raw.values()) stored += Buffer.from(value).toString('latin1')
    await raw.close()
    expect(stored).toContain('"entries"')
    expect(stored).not.toContain('127.0.0.1')

    clock += 1_000
    relay = await start()
    cleanups.push(() => relay.stop())
    const afterRestart = await place(3)
    expect(afterRestart.body).toMatchObject({ ok: false, error: 'cooldown' })
    expect(afterRestart.body.retryAfterMs).toBe(COOLDOWN_MS - 2_000)

    clock += COOLDOWN_MS
    expect((await place(4)).body).toMatchObject({ ok: true })
  })

  it("tells the address's other identities' pages, open or opened later, in their Session frames", async () => {
    let clock = 1_800_000_000_000
    const relay = await startTestRelay({ boards, env: { PER_IP_COOLDOWN: 'true', TRUST_PROXY: 'loopback' }, now: () => clock })
    cleanups.push(() => relay.stop())
    const page = async (address: string) => {
      const who = await newSession(relay.url)
      const sock = await openRaw(`${relay.wsBase}/main?tessera=1&token=${who.token}`, { 'x-forwarded-for': address })
      cleanups.push(() => sock.close())
      await waitFor(() => lastSession(sock), { what: 'a Session frame' })
      return sock
    }
    const open = await page('203.0.113.30')
    const elsewhere = await page('203.0.113.31')
    const placer = await newSession(relay.url)
    const placed = await placeHttp(relay.url, placer.token, { x: 1, y: 1, color: 3 }, 'main', { 'x-forwarded-for': '203.0.113.30' })
    expect(placed.body).toMatchObject({ ok: true, nextPlaceAt: clock + COOLDOWN_MS })
    await waitFor(() => lastSession(open)?.nextPlaceAt === clock + COOLDOWN_MS, { what: "the address's cooldown in the open page" })
    clock += 1_000
    expect(lastSession(await page('203.0.113.30'))?.nextPlaceAt).toBe(clock - 1_000 + COOLDOWN_MS)
    expect(lastSession(elsewhere)?.nextPlaceAt).toBe(0)
    expect(lastSession(await page('203.0.113.31'))?.nextPlaceAt).toBe(0)
  })
})
