/**
 * A person's budget (IP_PLACEMENTS_PER_COOLDOWN): one address places at most 20 tiles per board
 * cooldown by default, however many identities and sockets it uses; the refusal is data
 * (rate-limited, retryAfterMs, Retry-After); each board has its own budget; the window slides.
 * Every test client is 127.0.0.1. The relay's clock is the test's.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { SessionLimits } from '../../shared/protocol.ts'
import { newSession, openRaw, placeHttp, type TestSession } from '../helpers/clients.ts'
import { startTestRelay } from '../helpers/start-relay.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const COOLDOWN_MS = 300_000
const BUDGET = SessionLimits.ipPlacementsPerCooldown

describe('per-address budget', () => {
  it('lets 40 identities from one address on a 5-minute board place no more than 20 tiles per cooldown, over HTTP and WebSocket', async () => {
    let clock = 1_800_000_000_000
    const relay = await startTestRelay({
      boards: [
        { id: 'main', width: 100, height: 100, cooldownMs: COOLDOWN_MS },
        { id: 'other', width: 100, height: 100, cooldownMs: COOLDOWN_MS },
      ],
      // The default budget (TEST_LIMITS turns it off for the other tests).
      env: { IP_PLACEMENTS_PER_COOLDOWN: String(BUDGET) },
      now: () => clock,
    })
    cleanups.push(() => relay.stop())
    const sessions: TestSession[] = []
    for (let i = 0; i < 40; i++) sessions.push(await newSession(relay.url))

    // Half over HTTP, half over a socket each (new sockets do not reset anything).
    type Outcome = {
      ok: boolean
      error?: string
      retryAfterMs?: number
      message?: string
      status?: number
      retryAfterHeader?: string | null
    }
    const results: Outcome[] = []
    for (const [i, s] of sessions.entries()) {
      if (i % 2 === 0) {
        const r = await placeHttp(relay.url, s.token, { x: i, y: 0, color: 1 })
        results.push({ ...(r.body as Outcome), retryAfterHeader: r.headers.get('retry-after'), status: r.status })
      } else {
        const sock = await openRaw(`${relay.wsBase}/main?token=${encodeURIComponent(s.token)}`)
        cleanups.push(() => sock.close())
        results.push(await sock.place(i, 0, 1))
      }
    }
    const placed = results.filter((r) => r.ok)
    expect(placed).toHaveLength(BUDGET)
    const refused = results.filter((r) => !r.ok)
    expect(refused).toHaveLength(40 - BUDGET)
    for (const r of refused) {
      expect(r).toMatchObject({ ok: false, error: 'rate-limited', retryAfterMs: COOLDOWN_MS })
      expect(r.message).toMatch(/per-address budget/)
    }
    const viaHttp = refused.find((r) => r.status !== undefined)
    expect(viaHttp?.status).toBe(429)
    expect(viaHttp?.retryAfterHeader).toBe(String(COOLDOWN_MS / 1000))
    const bitmap = relay.rooms.get('main')?.bitmap() as Uint8Array
    expect(bitmap.slice(0, 40).filter((c) => c === 1)).toHaveLength(BUDGET)

    // Another board has its own budget.
    const unused = sessions.filter((_, i) => !results[i]?.ok)
    expect((await placeHttp(relay.url, unused[0]?.token as string, { x: 0, y: 0, color: 2 }, 'other')).status).toBe(200)

    // A refused identity kept its cooldown: once the window has passed, the address places again.
    clock += COOLDOWN_MS - 1
    expect((await placeHttp(relay.url, unused[1]?.token as string, { x: 50, y: 50, color: 3 })).body).toMatchObject({
      error: 'rate-limited',
      retryAfterMs: 1,
    })
    clock += 1
    expect((await placeHttp(relay.url, unused[1]?.token as string, { x: 50, y: 50, color: 3 })).status).toBe(200)
  })

  it('is off with IP_PLACEMENTS_PER_COOLDOWN=0 and on a board without a cooldown', async () => {
    const relay = await startTestRelay({
      boards: [
        { id: 'main', width: 100, height: 100, cooldownMs: COOLDOWN_MS },
        { id: 'free', width: 100, height: 100, cooldownMs: 0 },
      ],
      env: { IP_PLACEMENTS_PER_COOLDOWN: '0' },
    })
    cleanups.push(() => relay.stop())
    const sessions = await Promise.all(Array.from({ length: BUDGET + 5 }, () => newSession(relay.url)))
    const results = await Promise.all(sessions.map((s, i) => placeHttp(relay.url, s.token, { x: i, y: 1, color: 4 })))
    expect(results.every((r) => r.status === 200)).toBe(true)
    const free = await startTestRelay({
      boards: [{ id: 'main', width: 100, height: 100, cooldownMs: 0 }],
      env: { IP_PLACEMENTS_PER_COOLDOWN: '20' },
    })
    cleanups.push(() => free.stop())
    const { token } = await newSession(free.url)
    for (let i = 0; i < BUDGET + 5; i++) expect((await placeHttp(free.url, token, { x: i, y: 1, color: 4 })).status).toBe(200)
  })
})
