/**
 * What an identity costs and how long it lasts (docs/PROTOCOL.md "Identity"): a new identity
 * needs a solved proof of work at the default difficulty; forged, wrong, replayed and expired
 * solutions are refused with typed errors; tokens expire and are renewed for the same user.
 * The relay's clock is the test's, so lifetimes pass without waiting.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { meetsDifficulty, solve } from '../../shared/proof-of-work.ts'
import { CloseCode, SessionLimits } from '../../shared/protocol.ts'
import { newSession, openRaw, placeHttp, postSession, solveYielding } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

let clock = 1_800_000_000_000
const now = () => clock
const boards = [{ id: 'main', width: 32, height: 32, cooldownMs: 0 }]
const start = async (env: Record<string, string>): Promise<TestRelay> => {
  const relay = await startTestRelay({ boards, env, now })
  cleanups.push(() => relay.stop())
  return relay
}

type Answer = { ok: boolean; error?: string; message?: string; challenge?: string; bits?: number; expiresAt?: number }
const post = async (relay: TestRelay, body?: unknown, headers?: Record<string, string>) => {
  const res = await postSession(relay.url, body, headers)
  return { status: res.status, body: (await res.json()) as Answer & Record<string, unknown>, headers: res.headers }
}

describe('proof of work for new identities', () => {
  it('refuses an identity without a proof of work, and issues one for a solution at the default difficulty', async () => {
    const relay = await start({ SESSION_POW_BITS: String(SessionLimits.powBits) })
    const asked = await post(relay)
    expect(asked.status).toBe(428)
    expect(asked.body).toMatchObject({ ok: false, error: 'pow-required', bits: SessionLimits.powBits })
    expect(asked.body.expiresAt).toBe(clock + SessionLimits.challengeTtlMs)
    expect(asked.headers.get('set-cookie')).toBeNull()
    // The same challenge, asked for directly.
    const direct = (await (await fetch(`${relay.url}/api/session/challenge`)).json()) as Answer
    expect(direct).toMatchObject({ ok: true, bits: SessionLimits.powBits })
    expect(direct.challenge).not.toBe(asked.body.challenge)

    const challenge = asked.body.challenge as string
    const nonce = await solveYielding(challenge, SessionLimits.powBits)
    const issued = await post(relay, { challenge, nonce })
    expect(issued.status).toBe(200)
    expect(issued.body).toMatchObject({ ok: true, issuedAt: clock, expiresAt: clock + SessionLimits.tokenTtlMs })
    expect(issued.body.token).toMatch(/^v2\./)
    expect((await placeHttp(relay.url, issued.body.token as string, { x: 1, y: 1, color: 2 })).status).toBe(200)
  })

  it('refuses a wrong nonce, a forged, a replayed and an expired challenge with typed errors, each with a fresh challenge', async () => {
    const bits = SessionLimits.powBits
    const relay = await start({ SESSION_POW_BITS: String(bits) })
    const fresh = async () => (await post(relay)).body.challenge as string
    const refused = async (body: unknown, error: string) => {
      const r = await post(relay, body)
      expect(r.status, error).toBe(428)
      expect(r.body, error).toMatchObject({ ok: false, error, bits })
      expect(typeof r.body.challenge).toBe('string')
      expect(r.body.challenge).not.toBe((body as { challenge?: unknown }).challenge)
      expect(r.headers.get('set-cookie')).toBeNull()
    }

    const challenge = await fresh()
    let wrong = 0
    while (meetsDifficulty(challenge, String(wrong), bits)) wrong++
    await refused({ challenge, nonce: String(wrong) }, 'pow-invalid')
    await refused({ challenge, nonce: 'not a nonce!' }, 'pow-invalid')
    await refused({ challenge: 42, nonce: '1' }, 'pow-invalid')
    const nonce = await solveYielding(challenge, bits)
    // Altered in one character of its signed body (the bits), or signed by another relay.
    await refused({ challenge: challenge.replace(`.${bits}.`, '.1.'), nonce }, 'pow-invalid')
    const other = await start({ SESSION_POW_BITS: '1' })
    const foreign = (await post(other)).body.challenge as string
    await refused({ challenge: foreign, nonce: solve(foreign, 1) }, 'pow-invalid')

    // The wrong attempts did not use the challenge up; the right one does, once.
    expect((await post(relay, { challenge, nonce })).status).toBe(200)
    await refused({ challenge, nonce }, 'challenge-used')

    const late = await fresh()
    const lateNonce = await solveYielding(late, bits)
    clock += SessionLimits.challengeTtlMs
    await refused({ challenge: late, nonce: lateNonce }, 'challenge-expired')
  })
})

describe('token lifetime', () => {
  const TTL = 3_600_000

  it('refuses an expired token; a renewal keeps the user id with a fresh expiry', async () => {
    const relay = await start({ TOKEN_TTL_MS: String(TTL) })
    const first = await newSession(relay.url)
    expect(first.expiresAt).toBe(clock + TTL)

    // Past half its life (when the client renews): same user, new token and expiry, no proof of work.
    clock += TTL / 2 + 1
    const renewed = await post(relay, undefined, { authorization: `Bearer ${first.token}` })
    expect(renewed.status).toBe(200)
    expect(renewed.body).toMatchObject({ ok: true, user: first.user, issuedAt: clock, expiresAt: clock + TTL })
    expect(renewed.body.token).not.toBe(first.token)
    expect(renewed.headers.get('set-cookie')).toContain(`Max-Age=${TTL / 1000}`)
    const second = renewed.body.token as string

    // The first token's lifetime ends: refused over HTTP and WebSocket; the renewed one places.
    clock = first.expiresAt
    const refused = await placeHttp(relay.url, first.token, { x: 2, y: 2, color: 3 })
    expect(refused.status).toBe(401)
    expect(refused.body).toMatchObject({ ok: false, error: 'unauthorized' })
    expect(refused.body.message).toMatch(/expired/)
    const sock = await openRaw(`${relay.wsBase}/main?tessera=1&token=${encodeURIComponent(first.token)}`)
    expect((await waitFor(() => sock.closed())).code).toBe(CloseCode.Unauthorized)
    expect(sock.errors()[0]?.message).toMatch(/expired/)
    const placed = await placeHttp(relay.url, second, { x: 2, y: 2, color: 3 })
    expect(placed.status).toBe(200)
    expect((await relay.rooms.get('main')?.tileInfo(2, 2))?.user).toBe(first.user)

    // A socket opened while its token was valid stops placing when the token expires.
    const open = await openRaw(`${relay.wsBase}/main?token=${encodeURIComponent(second)}`)
    cleanups.push(async () => open.close())
    expect(await open.place(3, 3, 1)).toMatchObject({ ok: true })
    // An expired token is not renewed: a new identity (and its proof of work) is needed.
    clock += TTL
    expect(await open.place(4, 4, 1)).toMatchObject({ ok: false, error: 'unauthorized', message: expect.stringMatching(/expired/) })
    const late = await post(relay, undefined, { cookie: `tessera_token=${second}` })
    expect(late.status).toBe(428)
    expect(late.body).toMatchObject({ ok: false, error: 'pow-required' })
    expect(late.body.message).toMatch(/expired/)
  })
})
