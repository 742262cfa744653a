/**
 * A full disk: placements are refused with 503 `unavailable` (never acknowledged and lost), the
 * relay says why in its log, and it recovers by itself when space returns. Uses a small tmpfs,
 * which needs the right to mount (root in CI and on the development machines).
 */
import { execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { startChildRelay } from '../helpers/child-relay.ts'
import { connectProvider, newSession, placeHttp } from '../helpers/clients.ts'
import { waitFor } from '../helpers/wait-for.ts'

const mountPoint = mkdtempSync(join(tmpdir(), 'tessera-full-'))
/** Why the test cannot run here, or null: mounting a tmpfs needs CAP_SYS_ADMIN. */
const cannotMount = (() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mountPoint], { stdio: 'pipe' })
    return null
  } catch (err) {
    return `cannot mount a tmpfs (${String((err as Error).message).split('\n')[0]})`
  }
})()

afterAll(() => {
  if (!cannotMount) execFileSync('umount', ['-l', mountPoint])
  rmSync(mountPoint, { recursive: true, force: true })
})

/** Writes a file until the file system is full; returns its path. */
const fillDisk = (dir: string): string => {
  const file = join(dir, 'filler')
  const fd = openSync(file, 'w')
  const chunk = Buffer.alloc(64 * 1024, 1)
  try {
    for (;;) writeSync(fd, chunk)
  } catch {
    // ENOSPC: full. Top up with small writes so that not even a few bytes are left.
    const small = Buffer.alloc(512, 1)
    try {
      for (;;) writeSync(fd, small)
    } catch {}
  } finally {
    closeSync(fd)
  }
  return file
}

describe('disk full', () => {
  it.skipIf(cannotMount !== null)(`refuses placements, says why, and recovers (${cannotMount ?? 'tmpfs available'})`, async () => {
    const dataDir = join(mountPoint, 'data')
    const env = { BOARD_COOLDOWN_MS: '0', BOARD_WIDTH: '64', BOARD_HEIGHT: '64', BOARD_SHARD_SIZE: '16' }
    let relay = await startChildRelay(dataDir, env)
    const acked: { x: number; y: number; color: number }[] = []
    const { token } = await newSession(relay.url)
    const place = async (x: number, y: number, color: number) => {
      const r = await placeHttp(relay.url, token, { x, y, color })
      if (r.status === 200) acked.push({ x, y, color })
      return r
    }
    for (let i = 0; i < 20; i++) expect((await place(i, 0, 1)).status).toBe(200)

    const filler = fillDisk(mountPoint)
    // Placements while the disk is full: each is refused (503) or held until it is durable.
    const during: Promise<{ status: number; body: Record<string, unknown> }>[] = []
    let refused: { status: number; body: Record<string, unknown> } | null = null
    for (let i = 0; i < 200 && !refused; i++) {
      const r = await Promise.race([place(i % 64, 1 + (i >> 6), 2), new Promise<null>((resolve) => setTimeout(() => resolve(null), 200))])
      if (r === null) during.push(place(i % 64, 10, 3))
      else if (r.status === 503) refused = r
      else expect(r.status).toBe(200)
    }
    expect(refused?.body).toMatchObject({ ok: false, error: 'unavailable' })
    await waitFor(() => /write failed|cannot store/i.test(relay.output()), { what: 'the reason in the log' })
    expect(relay.output()).toMatch(/no space left|ENOSPC|IO error/i)

    // Space returns: the relay recovers by itself; held placements finish.
    unlinkSync(filler)
    await waitFor(async () => (await place(63, 63, 4)).status === 200, { timeoutMs: 30_000, intervalMs: 250, what: 'recovery' })
    for (const r of await Promise.all(during)) expect([200, 503]).toContain(r.status)

    // Nothing acknowledged was lost, even to kill -9 right now.
    relay.child.kill('SIGKILL')
    await relay.exited
    relay = await startChildRelay(dataDir, env)
    const viewer = await connectProvider(relay.wsBase)
    const board = readBoardBitmap(viewer.doc, 64, 64)
    const last = new Map<number, number>()
    for (const a of acked) last.set(a.y * 64 + a.x, a.color)
    for (const [cell, color] of last) expect(board[cell], `tile ${cell}`).toBe(color)
    viewer.close()

    relay.child.kill('SIGKILL')
    await relay.exited

    // A DATA_DIR that cannot be written is refused at start, with the reason.
    const readOnly = mkdtempSync(join(tmpdir(), 'tessera-ro-'))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', readOnly])
    try {
      const failed = await startChildRelay(join(readOnly, 'data'), env).then(
        () => null,
        (err: Error) => err.message,
      )
      expect(failed).toMatch(/DATA_DIR .* is not writable/)
    } finally {
      execFileSync('umount', ['-l', readOnly])
      rmSync(readOnly, { recursive: true, force: true })
    }
  })
})
