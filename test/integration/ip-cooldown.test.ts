/**
 * PER_IP_COOLDOWN: the cooldown also binds an address across identities, survives a relay
 * restart (saved as pseudonyms, never as addresses), and ends when the window has passed. The
 * relay's clock is the test's, so the window passes without waiting.
 */

import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it } from 'vitest'
import { newSession, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'

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
})
