/** `npm run admin` and `npm run export-history` as an operator runs them, against a real relay. */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newSession, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const run = async (script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root })
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
})

describe('npm run export-history', () => {
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

    // While the relay runs, DATA_DIR is locked: the command says to use --relay.
    const locked = await run('cli/export-history.ts', ['--out', join(relay.dataDir, 'x.csv'), '--data-dir', relay.dataDir])
    expect(locked.code).toBe(1)
    expect(locked.stderr).toContain('--relay')

    await relay.close()
    const fromDisk = join(relay.dataDir, 'disk.csv')
    const disk = await run('cli/export-history.ts', ['--out', fromDisk, '--data-dir', relay.dataDir])
    expect(disk.code).toBe(0)
    expect(readFileSync(fromDisk, 'utf8')).toBe(readFileSync(fromRelay, 'utf8'))
  })
})
