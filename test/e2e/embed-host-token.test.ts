/**
 * Host-signed identities in the embeds (docs/EMBEDDING.md "Identity from the host site"), on the
 * test site of test/helpers/embed-site.ts: the element and the iframe place as the host's user
 * (the tile API names it, the cooldown is charged to it); bad-signature, expired and
 * unknown-issuer tokens are refused with the relay's reasons.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Board, createEmbedSite, EMBED_SECRET } from '../helpers/embed-site.ts'
import { signHostToken } from '../helpers/host-token.ts'
import { waitFor } from '../helpers/wait-for.ts'

const { site, setUp, tearDown, closePages, openHost, elementHtml, iframeHtml, events, messages } = createEmbedSite()
beforeAll(setUp)
afterAll(tearDown)
afterEach(closePages)

describe('with a host-signed token', () => {
  const now = () => Math.floor(Date.now() / 1000)

  it('the element places as the host’s user; the tile API names it; a second placement meets the cooldown', async () => {
    const token = signHostToken(EMBED_SECRET, { sub: 'alice', name: 'Alice', iss: 'test-host', exp: now() + 600 })
    const page = await openHost('host-token', elementHtml('el', 'board="slow"'))
    // Set after the host's sign-in, as a host would.
    await page.evaluate((t) => document.getElementById('el')?.setAttribute('token', t), token)
    await waitFor(async () => (await page.evaluate(() => (document.getElementById('el') as unknown as Board).identity))?.name === 'Alice', {
      what: 'the host identity',
    })
    const placed = (await page.evaluate(() =>
      (document.getElementById('el') as unknown as Board).place({ x: 3, y: 3, color: 2 }),
    )) as Record<string, number>
    expect(placed.nextPlaceAt).toBeGreaterThan(placed.placedAt as number)
    const tile = (await (await fetch(`${site.relay.url}/api/boards/slow/tiles/3/3`)).json()) as { user: string; name?: string }
    expect(tile.name).toBe('Alice')
    const second = await page.evaluate(() =>
      (document.getElementById('el') as unknown as Board).place({ x: 4, y: 4, color: 2 }).then(
        () => null,
        (e: Error & { code: string }) => e.code,
      ),
    )
    expect(second).toBe('cooldown')
  })

  it('the iframe takes the host’s token by postMessage only, and places as that user', async () => {
    const token = signHostToken(EMBED_SECRET, { sub: 'carol', name: 'Carol', iss: 'test-host', exp: now() + 600 })
    const page = await openHost('frame-token', iframeHtml('frame', 'board=main'))
    await waitFor(async () => (await messages(page)).some((m) => m.type === 'tessera-hello'), { what: 'the hello answered' })
    const post = (m: unknown) =>
      page.evaluate(([msg, to]) => (document.getElementById('frame') as HTMLIFrameElement).contentWindow?.postMessage(msg, to as string), [
        m,
        site.relay.url,
      ] as const)
    await post({ type: 'tessera-token', token })
    await post({ type: 'tessera-place', x: 40, y: 41, color: 2 })
    await waitFor(async () => (await messages(page)).some((m) => m.type === 'tessera-placed' && m.detail.x === 40), {
      what: 'tessera-placed posted',
    })
    const tile = (await (await fetch(`${site.relay.url}/api/boards/main/tiles/40/41`)).json()) as { name?: string }
    expect(tile.name).toBe('Carol')
    // The token never went into a URL.
    expect(page.frames().every((f) => !f.url().includes(token))).toBe(true)
  })

  it('refuses a token with a wrong signature, an expired one and one from an unknown issuer', async () => {
    const bad = [
      signHostToken('not-the-secret-0123456789abcdef', { sub: 'bob', iss: 'test-host', exp: now() + 600 }),
      signHostToken(EMBED_SECRET, { sub: 'bob', iss: 'test-host', exp: now() - 60 }),
      signHostToken(EMBED_SECRET, { sub: 'bob', iss: 'nobody-we-know', exp: now() + 600 }),
    ]
    const reasons: unknown[] = []
    for (const [i, token] of bad.entries()) {
      const page = await openHost(`bad-token-${i}`, elementHtml('el', `board="main" token="${token}"`))
      const rejected = await waitFor(async () => (await events(page)).find((e) => e.type === 'tessera-rejected'), { what: 'the refusal' })
      expect(rejected.detail.code).toBe('unauthorized')
      reasons.push(rejected.detail.reason)
    }
    expect(reasons).toEqual(['bad-signature', 'expired', 'unknown-issuer'])
  })
})
