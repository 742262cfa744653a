import { createHmac } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { flagsToEnv } from '../../node-kit/flags.ts'
import { MAX_BOARDS, parseRelayConfig } from '../../relay/config.ts'
import { createAnonymiser, createTokenSigner, V1_TOKENS_EXPIRE_AT } from '../../relay/identity.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'

const tmp = makeTmpDir('tessera-config-')
afterEach(() => {
  writeFileSync(join(tmp.dir, 'config.json'), '{"boards":[{"id":"main"}]}')
})

describe('relay configuration', () => {
  it('has documented defaults: port 8080, ./data, one main board as r/place 2017', () => {
    const c = parseRelayConfig({}, '/srv')
    expect(c.port).toBe(8080)
    expect(c.dataDir).toBe('/srv/data')
    expect(c.host).toBe('')
    expect(c.boards).toHaveLength(1)
    expect(c.boards[0]).toMatchObject({ id: 'main', width: 1000, height: 1000, cooldownMs: 300_000 })
    expect(c.perIpCooldown).toBe(false)
    expect(c.adminToken).toBeNull()
    expect(c.embedOrigins).toEqual([])
    expect(c.tickMs).toBe(0)
  })

  it('has a per-address budget, a proof of work and token lifetime by default, each adjustable or off', () => {
    const c = parseRelayConfig({}, '/srv')
    expect(c.ipPlacementsPerCooldown).toBe(20)
    expect(c.sessionPowBits).toBe(18)
    expect(c.tokenTtlMs).toBe(30 * 86_400_000)
    const off = parseRelayConfig({ IP_PLACEMENTS_PER_COOLDOWN: '0', SESSION_POW_BITS: '0', TOKEN_TTL_MS: '3600000' }, '/srv')
    expect([off.ipPlacementsPerCooldown, off.sessionPowBits, off.tokenTtlMs]).toEqual([0, 0, 3_600_000])
    expect(() => parseRelayConfig({ SESSION_POW_BITS: '33' })).toThrow(/SESSION_POW_BITS/)
    expect(() => parseRelayConfig({ TOKEN_TTL_MS: '1000' })).toThrow(/TOKEN_TTL_MS/)
    expect(() => parseRelayConfig({ IP_PLACEMENTS_PER_COOLDOWN: '-1' })).toThrow(/IP_PLACEMENTS_PER_COOLDOWN/)
  })

  it('limits tile reads per address to 40 a second by default, bursts of twice the rate', () => {
    const c = parseRelayConfig({}, '/srv')
    expect([c.tileReadsPerIpPerSecond, c.tileReadBurst]).toEqual([40, 80])
    const set = parseRelayConfig({ TILE_READS_PER_IP_PER_SECOND: '5' }, '/srv')
    expect([set.tileReadsPerIpPerSecond, set.tileReadBurst]).toEqual([5, 10])
    expect(() => parseRelayConfig({ TILE_READS_PER_IP_PER_SECOND: '0' })).toThrow(/TILE_READS_PER_IP_PER_SECOND/)
  })

  it('limits admin calls per address to 10 a second by default, bursts of twice the rate', () => {
    const c = parseRelayConfig({}, '/srv')
    expect([c.adminCallsPerIpPerSecond, c.adminCallBurst]).toEqual([10, 20])
    const set = parseRelayConfig({ ADMIN_CALLS_PER_IP_PER_SECOND: '3' }, '/srv')
    expect([set.adminCallsPerIpPerSecond, set.adminCallBurst]).toEqual([3, 6])
    expect(() => parseRelayConfig({ ADMIN_CALLS_PER_IP_PER_SECOND: '0' })).toThrow(/ADMIN_CALLS_PER_IP_PER_SECOND/)
  })

  it('takes the main board from env and flags, flags winning', () => {
    const env = { PORT: '9000', BOARD_WIDTH: '4096', BOARD_HEIGHT: '4096', BOARD_COOLDOWN_MS: '0', BOARD_PALETTE: '#000000, #FFFFFF' }
    const c = parseRelayConfig({ ...env, ...flagsToEnv(['--port', '9100', '--data-dir=/x']) }, '/srv')
    expect(c.port).toBe(9100)
    expect(c.dataDir).toBe('/x')
    expect(c.boards[0]).toMatchObject({ width: 4096, height: 4096, cooldownMs: 0, palette: ['#000000', '#ffffff'] })
  })

  it('reads several boards from DATA_DIR/config.json', () => {
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ boards: [{ id: 'main' }, { id: 'big', width: 2000 }] }))
    const c = parseRelayConfig({ DATA_DIR: tmp.dir })
    expect(c.boards.map((b) => [b.id, b.width])).toEqual([
      ['main', 1000],
      ['big', 2000],
    ])
  })

  it('takes every board field from config.json, shardSize included (a power of two in 16..256)', () => {
    const board = { id: 'art', width: 300, height: 200, palette: ['#000000', '#ffffff'], shardSize: 32, cooldownMs: 5000, locked: true }
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ boards: [board] }))
    expect(parseRelayConfig({ DATA_DIR: tmp.dir }).boards).toEqual([board])
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ boards: [{ id: 'art', shardSize: 48 }] }))
    expect(() => parseRelayConfig({ DATA_DIR: tmp.dir })).toThrow('board "art": shardSize must be a power of two in 16..256')
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ boards: [{ id: 'art', shard: 32 }] }))
    expect(() => parseRelayConfig({ DATA_DIR: tmp.dir })).toThrow('unknown board field "shard"')
  })

  it('refuses bad values with a message naming them', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ PORT: '70000' }, /PORT/],
      [{ PORT: 'x' }, /PORT/],
      [{ BOARD_WIDTH: '9000' }, /BOARD_WIDTH/],
      [{ PER_IP_COOLDOWN: 'maybe' }, /PER_IP_COOLDOWN/],
      [{ ADMIN_TOKEN: 'short' }, /ADMIN_TOKEN/],
      [{ EMBED_ORIGINS: 'example.org' }, /EMBED_ORIGINS/],
      [{ BOARD_PALETTE: '#fff,#000' }, /palette/],
    ]
    for (const [env, message] of bad) expect(() => parseRelayConfig(env), JSON.stringify(env)).toThrow(message)
    expect(() => flagsToEnv(['--port'])).toThrow(/needs a value/)
    expect(() => flagsToEnv(['port'])).toThrow(/unexpected argument/)
    writeFileSync(join(tmp.dir, 'config.json'), '{"boards": [')
    expect(() => parseRelayConfig({ DATA_DIR: tmp.dir })).toThrow(/not valid JSON/)
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ boards: [{ id: 'a' }, { id: 'a' }] }))
    expect(() => parseRelayConfig({ DATA_DIR: tmp.dir })).toThrow(/declared twice/)
    writeFileSync(
      join(tmp.dir, 'config.json'),
      JSON.stringify({ boards: Array.from({ length: MAX_BOARDS + 1 }, (_, i) => ({ id: `b${i}` })) }),
    )
    expect(() => parseRelayConfig({ DATA_DIR: tmp.dir })).toThrow(/at most 64 boards/)
    expect(parseRelayConfig({ EMBED_ORIGINS: 'https://example.org, *' }).embedOrigins).toEqual(['https://example.org', '*'])
  })
})

describe('relay configuration: proxies and slow clients', () => {
  it('reads TRUST_PROXY as false, a hop count or a list, and HTTP timeouts with their defaults', () => {
    expect(parseRelayConfig({}).trustProxy).toEqual({ kind: 'hops', hops: 0 })
    expect(parseRelayConfig({ TRUST_PROXY: 'true' }).trustProxy).toEqual({ kind: 'hops', hops: 1 })
    expect(parseRelayConfig({ TRUST_PROXY: '2' }).trustProxy).toEqual({ kind: 'hops', hops: 2 })
    expect(parseRelayConfig({ TRUST_PROXY: '10.0.0.0/8,127.0.0.1' }).trustProxy.kind).toBe('list')
    expect(() => parseRelayConfig({ TRUST_PROXY: 'proxy.example' })).toThrow(/TRUST_PROXY/)
    const c = parseRelayConfig({})
    expect([c.headersTimeoutMs, c.requestTimeoutMs]).toEqual([10_000, 30_000])
    expect(parseRelayConfig({ HEADERS_TIMEOUT_MS: '500', REQUEST_TIMEOUT_MS: '1000' })).toMatchObject({
      headersTimeoutMs: 500,
      requestTimeoutMs: 1000,
    })
    expect(() => parseRelayConfig({ HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '1000' })).toThrow(/REQUEST_TIMEOUT_MS/)
  })

  it('reads host token secrets and the origins that may place, none by default', () => {
    const none = parseRelayConfig({ DATA_DIR: tmp.dir })
    expect([none.embedSecret, none.embedSites, none.embedPlaceOrigins]).toEqual([null, {}, []])
    const secret = 'x'.repeat(32)
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ embedSites: { forum: { secret } } }))
    const c = parseRelayConfig({ DATA_DIR: tmp.dir, EMBED_SECRET: secret, EMBED_PLACE_ORIGINS: 'https://a.example, https://b.example' })
    expect(c.embedSecret).toBe(secret)
    expect(c.embedSites).toEqual({ forum: { secret } })
    // A file with only embedSites keeps the default board.
    expect(c.boards.map((b) => b.id)).toEqual(['main'])
    expect(c.embedPlaceOrigins).toEqual(['https://a.example', 'https://b.example'])
    expect(() => parseRelayConfig({ DATA_DIR: tmp.dir, EMBED_SECRET: 'short' })).toThrow(/EMBED_SECRET/)
    expect(() => parseRelayConfig({ DATA_DIR: tmp.dir, EMBED_PLACE_ORIGINS: 'host.example' })).toThrow(/EMBED_PLACE_ORIGINS/)
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ embedSites: { forum: { secret: 'short' } } }))
    expect(() => parseRelayConfig({ DATA_DIR: tmp.dir })).toThrow(/embedSites\["forum"\]/)
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ embedSites: ['forum'] }))
    expect(() => parseRelayConfig({ DATA_DIR: tmp.dir })).toThrow(/embedSites/)
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({}))
    expect(() => parseRelayConfig({ DATA_DIR: tmp.dir })).toThrow(/boards/)
  })
})

describe('identity tokens', () => {
  const TTL = 30 * 86_400_000
  const signer = createTokenSigner(Buffer.alloc(32, 7), TTL)
  const T = 1_795_000_000_000

  it('verify what they issued and nothing altered', () => {
    const { token, user, issuedAt, expiresAt } = signer.issue(T)
    expect(token).toMatch(/^v2\./)
    expect(expiresAt).toBe(T + TTL)
    expect(signer.verify(token, T)).toEqual({ kind: 'valid', identity: { user, issuedAt, expiresAt } })
    for (let i = 0; i < token.length; i++) {
      const c = token[i] === 'A' ? 'B' : 'A'
      const altered = token.slice(0, i) + c + token.slice(i + 1)
      if (altered !== token) expect(signer.verify(altered, T), `character ${i}`).toEqual({ kind: 'invalid' })
    }
    expect(createTokenSigner(Buffer.alloc(32, 8), TTL).verify(token, T)).toEqual({ kind: 'invalid' })
    expect(signer.verify('', T)).toEqual({ kind: 'invalid' })
    expect(signer.verify('x'.repeat(500), T)).toEqual({ kind: 'invalid' })
  })

  it('expire after their lifetime; a renewal keeps the user with a fresh expiry', () => {
    const { token, user } = signer.issue(T)
    expect(signer.verify(token, T + TTL - 1).kind).toBe('valid')
    expect(signer.verify(token, T + TTL)).toMatchObject({ kind: 'expired', identity: { user } })
    const renewed = signer.renew(user, T + TTL - 1)
    expect(renewed).toMatchObject({ user, issuedAt: T + TTL - 1, expiresAt: T + 2 * TTL - 1 })
    expect(signer.verify(renewed.token, T + TTL)).toMatchObject({ kind: 'valid', identity: { user } })
  })

  it('accept v1 tokens (no expiry of their own) until V1_TOKENS_EXPIRE_AT', () => {
    const secret = Buffer.alloc(32, 7)
    const body = `v1.AAAAAAAAAAAAAAAA.${T.toString(36)}`
    const v1 = `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`
    expect(signer.verify(v1, V1_TOKENS_EXPIRE_AT - 1)).toMatchObject({ kind: 'valid', identity: { user: 'AAAAAAAAAAAAAAAA' } })
    expect(signer.verify(v1, V1_TOKENS_EXPIRE_AT).kind).toBe('expired')
    expect(signer.verify(`${v1.slice(0, -1)}A`, T).kind).toBe('invalid')
  })

  it('pseudonymise users stably and per secret', () => {
    const a = createAnonymiser(Buffer.alloc(32, 1))
    expect(a('someone')).toBe(a('someone'))
    expect(a('someone')).not.toBe(a('someone else'))
    expect(createAnonymiser(Buffer.alloc(32, 2))('someone')).not.toBe(a('someone'))
    expect(a('someone')).toMatch(/^[A-Za-z0-9_-]{16}$/)
  })
})
