/**
 * The built client as the relay serves it: the build writes brotli and gzip variants, the relay
 * picks one by Accept-Encoding (bytes that decompress to the file), tags every answer with an
 * ETag and answers a matching If-None-Match with 304, caches hashed assets for good and
 * revalidates the rest (the page, the service worker, the manifest). One real build, one relay.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inlineScriptHashes } from '../../relay/static-files.ts'
import { KEPT_COOKIE_PREFIX, KEPT_IMAGE_COOKIE_PREFIX, TOKEN_COOKIE } from '../../shared/protocol.ts'
import { buildClient } from '../helpers/browser.ts'
import { newSession } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** A GET (or HEAD) with exactly these headers, body as sent (node:http does not decode it, unlike fetch). */
const get = (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })

const out = makeTmpDir('tessera-static-')
let relay: TestRelay
let js: string
let jsBytes: Buffer

beforeAll(async () => {
  await buildClient(out.dir)
  const name = readdirSync(join(out.dir, 'assets')).find((f) => f.endsWith('.js')) as string
  js = `/assets/${name}`
  jsBytes = readFileSync(join(out.dir, 'assets', name))
  // A file the build did not write: no variants.
  writeFileSync(join(out.dir, 'plain.txt'), 'plain text '.repeat(100))
  relay = await startTestRelay({ env: { STATIC_DIR: out.dir } })
}, 120_000)
afterAll(async () => {
  await relay?.stop()
  out.remove()
})

describe('the build', () => {
  it('writes brotli and gzip variants of the compressible files, the service worker included', () => {
    for (const f of ['index.html', 'sw.js', 'manifest.webmanifest', js.slice(1)]) {
      const original = readFileSync(join(out.dir, f))
      expect(brotliDecompressSync(readFileSync(join(out.dir, `${f}.br`))).equals(original), f).toBe(true)
      expect(gunzipSync(readFileSync(join(out.dir, `${f}.gz`))).equals(original), f).toBe(true)
    }
  })
})

describe('compression', () => {
  it('sends brotli to a browser that accepts it, with Content-Encoding, Vary and the encoded length', async () => {
    const r = await get(relay.url + js, { 'accept-encoding': 'gzip, deflate, br, zstd' })
    expect(r.status).toBe(200)
    expect(r.headers['content-encoding']).toBe('br')
    expect(r.headers.vary).toBe('Accept-Encoding')
    expect(r.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(Number(r.headers['content-length'])).toBe(r.body.length)
    expect(r.body.length).toBeLessThan(jsBytes.length / 2)
    expect(brotliDecompressSync(r.body).equals(jsBytes)).toBe(true)
  })

  it('sends gzip when brotli is not accepted or refused with q=0', async () => {
    for (const accept of ['gzip', 'br;q=0, gzip', 'gzip;q=1, br;q=0.5']) {
      const r = await get(relay.url + js, { 'accept-encoding': accept })
      expect(r.headers['content-encoding'], accept).toBe('gzip')
      expect(Number(r.headers['content-length'])).toBe(r.body.length)
      expect(gunzipSync(r.body).equals(jsBytes)).toBe(true)
    }
  })

  it('sends the file as it is without Accept-Encoding, or when every coding is refused', async () => {
    const cases: Record<string, string>[] = [
      {},
      { 'accept-encoding': 'identity' },
      { 'accept-encoding': 'br;q=0, gzip;q=0' },
      { 'accept-encoding': 'deflate' },
    ]
    for (const headers of cases) {
      const r = await get(relay.url + js, headers)
      expect(r.headers['content-encoding'], JSON.stringify(headers)).toBeUndefined()
      expect(r.headers.vary).toBe('Accept-Encoding')
      expect(Number(r.headers['content-length'])).toBe(jsBytes.length)
      expect(r.body.equals(jsBytes)).toBe(true)
    }
  })

  it('sends a file without variants as it is, to any Accept-Encoding', async () => {
    const r = await get(`${relay.url}/plain.txt`, { 'accept-encoding': 'br, gzip' })
    expect(r.headers['content-encoding']).toBeUndefined()
    expect(r.body.toString()).toBe('plain text '.repeat(100))
    expect(r.headers.etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/)
  })

  it('does not send a variant older than its file (a file replaced after the build)', async () => {
    writeFileSync(join(out.dir, 'late.txt'), 'new content '.repeat(50))
    writeFileSync(join(out.dir, 'late.txt.gz'), Buffer.from('stale'))
    const past = new Date(Date.now() - 60_000)
    utimesSync(join(out.dir, 'late.txt.gz'), past, past)
    const r = await get(`${relay.url}/late.txt`, { 'accept-encoding': 'gzip' })
    expect(r.headers['content-encoding']).toBeUndefined()
    expect(r.body.toString()).toBe('new content '.repeat(50))
  })

  it('answers HEAD with the headers of GET and no body', async () => {
    const g = await get(relay.url + js, { 'accept-encoding': 'br' })
    const h = await get(relay.url + js, { 'accept-encoding': 'br' }, 'HEAD')
    expect(h.status).toBe(200)
    expect(h.body.length).toBe(0)
    for (const k of ['content-encoding', 'content-length', 'etag', 'vary', 'cache-control', 'content-type'])
      expect(h.headers[k], k).toBe(g.headers[k])
  })
})

describe('validators and caching', () => {
  it('gives each representation its own strong ETag, and answers a matching If-None-Match with 304', async () => {
    const br = await get(relay.url + js, { 'accept-encoding': 'br' })
    const gz = await get(relay.url + js, { 'accept-encoding': 'gzip' })
    const plain = await get(relay.url + js)
    const tags = [br, gz, plain].map((r) => r.headers.etag as string)
    expect(new Set(tags).size).toBe(3)
    for (const t of tags) expect(t).toMatch(/^"[^"]+"$/)
    const again = await get(relay.url + js, { 'accept-encoding': 'br', 'if-none-match': tags[0] as string })
    expect(again.status).toBe(304)
    expect(again.body.length).toBe(0)
    expect(again.headers.etag).toBe(tags[0])
    expect(again.headers.vary).toBe('Accept-Encoding')
    expect(again.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    // The tag of another representation does not match; a list holding it does.
    expect((await get(relay.url + js, { 'accept-encoding': 'br', 'if-none-match': tags[1] as string })).status).toBe(200)
    expect((await get(relay.url + js, { 'accept-encoding': 'br', 'if-none-match': `"x", W/${tags[0]}` })).status).toBe(304)
    // The same tag after a restart-free second request: computed once, stable.
    expect((await get(relay.url + js, { 'accept-encoding': 'br' })).headers.etag).toBe(tags[0])
  })

  it('revalidates the page, the service worker and the manifest (no-cache), with 304 when unchanged', async () => {
    for (const path of ['/', '/index.html', '/sw.js', '/manifest.webmanifest']) {
      const r = await get(relay.url + path, { 'accept-encoding': 'gzip, br' })
      expect(r.status, path).toBe(200)
      expect(r.headers['cache-control'], path).toBe('no-cache')
      expect(r.headers['content-encoding'], path).toBe('br')
      const again = await get(relay.url + path, { 'accept-encoding': 'gzip, br', 'if-none-match': r.headers.etag as string })
      expect(again.status, path).toBe(304)
    }
    const page = await get(`${relay.url}/`, { 'accept-encoding': 'br' })
    expect(page.headers['content-security-policy']).toContain("default-src 'self'")
    expect(brotliDecompressSync(page.body).toString()).toContain('<!doctype html>')
    expect((await get(`${relay.url}/manifest.webmanifest`)).headers['content-type']).toBe('application/manifest+json')
  })

  it('answers a missing hashed asset with 404, not with the page cached for a year', async () => {
    const r = await get(`${relay.url}/assets/index-missing.js`, { 'accept-encoding': 'br' })
    expect(r.status).toBe(404)
    // A client-side route still gets the page, revalidated.
    const route = await get(`${relay.url}/some/route`)
    expect(route.status).toBe(200)
    expect(route.headers['cache-control']).toBe('no-cache')
    expect(route.body.toString()).toContain('<!doctype html>')
  })
})

describe('the app page from the network', () => {
  it('names what the page fetches first (Link preloads): the board info, and the snapshot image unless the page keeps the board (then its kept image, if kept); only for a board this relay serves', async () => {
    const link = async (path: string, headers: Record<string, string> = {}) =>
      (await fetch(`${relay.url}${path}`, { headers })).headers.get('link')
    const info = '</api/boards/main>; rel=preload; as=fetch; crossorigin'
    const first = `${info}, </api/boards/main/snapshot.png>; rel=preload; as=image; fetchpriority=high`
    expect(await link('/')).toBe(first)
    expect(await link('/?board=main')).toBe(first)
    // A page that keeps the board (its cookie says so) shows the kept board first: no image.
    expect(await link('/?board=main', { cookie: `a=b; ${KEPT_COOKIE_PREFIX}main=1` })).toBe(info)
    // A page that also keeps the board's image (Cache Storage, its service worker answers it) is
    // told to fetch that image with the page; only with the board kept, and for this board.
    const keptImage = `${info}, </kept/main.png>; rel=preload; as=image; fetchpriority=high`
    expect(await link('/?board=main', { cookie: `${KEPT_COOKIE_PREFIX}main=1; ${KEPT_IMAGE_COOKIE_PREFIX}main=1` })).toBe(keptImage)
    expect(await link('/?board=main', { cookie: `${KEPT_COOKIE_PREFIX}main=1; ${KEPT_IMAGE_COOKIE_PREFIX}other=1` })).toBe(info)
    expect(await link('/?board=main', { cookie: `${KEPT_IMAGE_COOKIE_PREFIX}main=1` })).toBe(first)
    expect(
      await link('/index.html', { 'sec-fetch-dest': 'empty', cookie: `${KEPT_COOKIE_PREFIX}main=1; ${KEPT_IMAGE_COOKIE_PREFIX}main=1` }),
    ).toBe(info)
    // Another board kept, or only an identity: the image still.
    expect(await link('/?board=main', { cookie: `${KEPT_COOKIE_PREFIX}other=1` })).toBe(first)
    // The service worker's fetch of the page to precache it (its copy answers later navigations,
    // headers and all) names no image; a page load does.
    expect(await link('/index.html', { 'sec-fetch-dest': 'empty' })).toBe(info)
    expect(await link('/?board=main', { 'sec-fetch-dest': 'document' })).toBe(first)
    const { token } = await newSession(relay.url)
    expect(await link('/?board=main', { cookie: `${TOKEN_COOKIE}=${token}` })).toBe(first)
    expect(await link('/?board=nope')).toBeNull()
    expect(await link('/?board=..%2Fetc')).toBeNull()
    expect(await link('/embed?board=main&readonly=1')).toBeNull()
  })
})

describe('inline scripts', () => {
  it("allows exactly the page's own inline scripts by their sha256 (the board preview), and no other inline script", async () => {
    const page = await get(`${relay.url}/?board=main`)
    const html = page.body.toString()
    const inline = [...html.matchAll(/<script(\s[^>]*)?>([\s\S]*?)<\/script>/g)]
      .filter((m) => !(m[1] ?? '').includes('src='))
      .map((m) => m[2] as string)
    // The board preview's two (the head's asks for the image, the stage's places it) and the
    // service worker's registration.
    expect(inline.length).toBe(3)
    expect(inline.some((s) => s.includes('serviceWorker.register'))).toBe(true)
    expect(inline.filter((s) => s.includes('board-preview')).length).toBe(1)
    const csp = page.headers['content-security-policy'] as string
    const scriptSrc = csp.split('; ').find((d) => d.startsWith('script-src ')) as string
    const hashes = inline.map((text) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`)
    expect(scriptSrc).toBe(`script-src 'self' ${hashes.join(' ')}`)
    expect(scriptSrc).not.toContain('unsafe-inline')
    // The same hash whatever the coding (computed from the file, not from a variant).
    expect((await get(`${relay.url}/`, { 'accept-encoding': 'br' })).headers['content-security-policy']).toBe(csp)
    // A page without inline scripts allows none.
    const embed = await get(`${relay.url}/embed?board=main&readonly=1`)
    expect((embed.headers['content-security-policy'] as string).split('; ')).toContain("script-src 'self'")
  })

  it('finds the inline scripts of a page, not those with a src', () => {
    const hashOf = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`
    const html = `<script src="/a.js"></script><script>one()</script><script type="module" src="/b.js"></script><SCRIPT id="x">två()</SCRIPT>`
    expect(inlineScriptHashes(html)).toEqual([hashOf('one()'), hashOf('två()')])
    expect(inlineScriptHashes('<p>no scripts</p>')).toEqual([])
  })
})
