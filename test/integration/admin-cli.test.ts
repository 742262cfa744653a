/** `npm run admin` and `npm run export-history` as an operator runs them, against a real relay. */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newSession, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
/** The variables by which the commands find a relay: unset unless a test sets them. */
const RELAY_ENV = ['TESSERA_URL', 'PORT', 'HOST', 'ADMIN_TOKEN', 'DATA_DIR'] as const
const run = async (
  script: string,
  args: string[],
  envSet: Partial<Record<(typeof RELAY_ENV)[number], string>> = {},
): Promise<{ code: number; stdout: string; stderr: string }> => {
  const env: Record<string, string | undefined> = { ...process.env }
  for (const name of RELAY_ENV) delete env[name]
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: root,
      env: { ...env, ...envSet },
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

let relay: TestRelay
beforeAll(async () => {
  relay = await startTestRelay({ boards: [{ id: 'main', width: 32, height: 32, cooldownMs: 0 }] })
})
afterAll(async () => {
  await relay.stop()
})

describe('npm run admin', () => {
  it('runs every kind of action with the token the relay generated in DATA_DIR', async () => {
    expect(relay.admin.created).toBe(true)
    const admin = (...args: string[]) => run('cli/admin.ts', [...args, '--relay', relay.url, '--data-dir', relay.dataDir])
    const { user, token } = await newSession(relay.url)
    expect((await admin('ban', '--user', user, '--reason', 'spam')).code).toBe(0)
    expect((await admin('bans')).stdout).toContain(`user\t${user}`)
    expect((await placeHttp(relay.url, token, { x: 10, y: 10, color: 1 })).status).toBe(403)
    expect((await admin('unban', '--user', user)).code).toBe(0)
    expect((await placeHttp(relay.url, token, { x: 10, y: 10, color: 1 })).status).toBe(200)
    // Addresses by CIDR range; a target that is no address is refused by the relay.
    const other = await newSession(relay.url)
    expect((await admin('ban', '--ip', '127.0.0.0/8', '--reason', 'range')).code).toBe(0)
    expect((await admin('bans')).stdout).toContain('ip\t127.0.0.0/8')
    expect((await placeHttp(relay.url, other.token, { x: 11, y: 10, color: 1 })).status).toBe(403)
    expect((await admin('unban', '--ip', '127.0.0.0/8')).code).toBe(0)
    expect((await placeHttp(relay.url, other.token, { x: 11, y: 10, color: 1 })).status).toBe(200)
    const notAnAddress = await admin('ban', '--ip', 'relay.example')
    expect(notAnAddress.code).toBe(1)
    expect(notAnAddress.stderr).toContain('bad-address')

    const fill = await admin('fill', 'main', '--rect', '0,0,2,2', '--color', '3')
    expect(fill.stdout.trim()).toBe('fill: 4 tiles changed')
    expect((await admin('set', 'main', '--cooldown-ms', '1000', '--add-color', '#abcdef')).code).toBe(0)
    expect(relay.rooms.get('main')?.config()).toMatchObject({ cooldownMs: 1000 })
    expect(relay.rooms.get('main')?.config().palette.at(-1)).toBe('#abcdef')
    const rb = await admin('rollback', 'main', '--user', user)
    expect(rb.stdout).toMatch(/^rollback: rollback 1, 1 placements, 1 tiles changed/)
    expect((await admin('undo', 'main', '--rollback', '1')).code).toBe(0)
    expect((await admin('audit', '--limit', '3')).stdout.trim().split('\n')).toHaveLength(3)

    // Usage errors exit 2 with the usage; failures from the relay exit 1 with its message.
    const bad = await admin('frobnicate')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('usage: npm run admin')
    expect((await admin('fill', 'main', '--rect', '0,0,2')).code).toBe(2)
    const refused = await run('cli/admin.ts', ['bans', '--relay', relay.url, '--token', 'not-the-admin-token'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('403')
    expect((await run('cli/admin.ts', ['--help'])).stdout).toContain('rollback <board>')
  })

  it('finds the relay from HOST and PORT like the relay does, or from TESSERA_URL', async () => {
    const { hostname, port } = new URL(relay.url)
    const fromEnv = await run('cli/admin.ts', ['bans'], { PORT: port, HOST: hostname, DATA_DIR: relay.dataDir })
    expect(fromEnv.stderr).toBe('')
    expect(fromEnv.code).toBe(0)
    // HOST unset means every interface: the command reaches it on localhost.
    expect((await run('cli/admin.ts', ['bans'], { PORT: port, DATA_DIR: relay.dataDir })).code).toBe(0)
    expect((await run('cli/admin.ts', ['bans'], { TESSERA_URL: `${relay.url}/`, PORT: '1', DATA_DIR: relay.dataDir })).code).toBe(0)
    // PORT names where it looks: a port nothing listens on is a failure that says where it looked.
    const elsewhere = await run('cli/admin.ts', ['bans'], { PORT: '1', HOST: hostname, DATA_DIR: relay.dataDir })
    expect(elsewhere.code).toBe(1)
    expect(elsewhere.stderr).toContain(`cannot reach the relay at http://${hostname}:1`)
  })
})

describe('npm run export-history', () => {
  it('leaves no file behind on a failure, and an earlier export as it was', async () => {
    const dir = relay.dataDir
    const leftovers = () => readdirSync(dir).filter((f) => f.endsWith('.partial'))
    const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim()
    const { hostname, port } = new URL(relay.url)
    // The relay refuses (unknown board), the relay is unreachable, the data folder holds no board.
    const refused = await run('cli/export-history.ts', [
      '--board',
      'nope',
      '--out',
      join(dir, 'refused.csv'),
      '--relay',
      relay.url,
      '--token',
      token,
    ])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('404 unknown-board')
    expect(existsSync(join(dir, 'refused.csv'))).toBe(false)
    const unreachable = await run('cli/export-history.ts', ['--out', join(dir, 'unreachable.csv'), '--token', token], {
      HOST: hostname,
      PORT: '1',
    })
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toContain('cannot reach the relay')
    expect(existsSync(join(dir, 'unreachable.csv'))).toBe(false)
    writeFileSync(join(dir, 'kept.csv'), 'an earlier export\n')
    const wrong = await run('cli/export-history.ts', ['--board', 'nope', '--out', join(dir, 'kept.csv')], {
      HOST: hostname,
      PORT: port,
      DATA_DIR: dir,
    })
    expect(wrong.code).toBe(1)
    expect(readFileSync(join(dir, 'kept.csv'), 'utf8')).toBe('an earlier export\n')
    expect(leftovers()).toEqual([])
  })

  it('streams the history as CSV from a running relay, and from DATA_DIR once it stopped', async () => {
    const { token } = await newSession(relay.url)
    for (let i = 0; i < 5; i++) await placeHttp(relay.url, token, { x: i, y: 5, color: 2 })
    const adminToken = readFileSync(join(relay.dataDir, 'admin-token'), 'utf8').trim()
    const fromRelay = join(relay.dataDir, 'live.csv')
    const live = await run('cli/export-history.ts', ['--board', 'main', '--out', fromRelay, '--relay', relay.url, '--token', adminToken])
    expect(live.code).toBe(0)
    const liveRows = readFileSync(fromRelay, 'utf8').trim().split('\n')
    expect(liveRows[0]).toBe('placed_at,user,x,y,color,kind')
    expect(live.stdout).toContain(`${liveRows.length - 1} rows of main`)

    // Without --relay: the relay from HOST and PORT and the token from DATA_DIR, as `npm run admin`.
    const { hostname, port } = new URL(relay.url)
    const byEnv = join(relay.dataDir, 'by-env.csv')
    const viaEnv = await run('cli/export-history.ts', ['--out', byEnv], { HOST: hostname, PORT: port, DATA_DIR: relay.dataDir })
    expect(viaEnv.code).toBe(0)
    expect(readFileSync(byEnv, 'utf8')).toBe(readFileSync(fromRelay, 'utf8'))

    // While the relay runs, DATA_DIR is locked: the command says to export through the relay.
    const locked = await run('cli/export-history.ts', ['--out', join(relay.dataDir, 'x.csv'), '--data-dir', relay.dataDir])
    expect(locked.code).toBe(1)
    expect(locked.stderr).toContain('export without --data-dir')
    expect(existsSync(join(relay.dataDir, 'x.csv'))).toBe(false)

    await relay.close()
    const fromDisk = join(relay.dataDir, 'disk.csv')
    const disk = await run('cli/export-history.ts', ['--out', fromDisk, '--data-dir', relay.dataDir])
    expect(disk.code).toBe(0)
    expect(readFileSync(fromDisk, 'utf8')).toBe(readFileSync(fromRelay, 'utf8'))
  })
})
