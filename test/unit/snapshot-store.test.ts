/** Retention policy, the snapshot trigger, the snapshot folder (real files) and the snapshotter config. */
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { listSnapshots, listVersions, readLatest } from '../../node-kit/snapshot-folder.ts'
import { SIDECAR_FORMAT, type SnapshotSidecar } from '../../shared/snapshot-sidecar.ts'
import { parseSnapshotterConfig, relayWsBase, snapshotterFlagsToEnv } from '../../snapshotter/config.ts'
import { LOCK_DIR, lockSnapshotFolder } from '../../snapshotter/folder-lock.ts'
import { DEFAULT_RETENTION, parseRetentionTiers, type SnapshotEntry, snapshotsToDelete } from '../../snapshotter/retention.ts'
import { snapshotDue } from '../../snapshotter/snapshotter.ts'
import { prepareSnapshotDir, pruneSnapshots, writeFileAtomic, writeSnapshot } from '../../snapshotter/store.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

describe('retention', () => {
  it('keeps the last hour, then one per 10 min, one per hour, one per day, and always the newest', () => {
    // A snapshot every 30 s for 40 days, pruned as it goes (as the snapshotter does).
    const start = Date.UTC(2026, 0, 1)
    let kept: SnapshotEntry[] = []
    let version = 0
    for (let t = start; t <= start + 40 * DAY; t += 30_000) {
      kept.push({ version: ++version, time: t })
      // The snapshotter prunes after every snapshot; every 30 minutes keeps this test quick.
      if (version % 60 !== 0) continue
      const doomed = new Set(snapshotsToDelete(kept, t, DEFAULT_RETENTION))
      kept = kept.filter((e) => !doomed.has(e.version))
    }
    const now = start + 40 * DAY
    const age = (e: SnapshotEntry) => now - e.time
    const inHour = kept.filter((e) => age(e) < HOUR).length
    const inDay = kept.filter((e) => age(e) >= HOUR && age(e) < DAY).length
    const inMonth = kept.filter((e) => age(e) >= DAY && age(e) < 30 * DAY).length
    const older = kept.filter((e) => age(e) >= 30 * DAY).length
    expect(inHour).toBeGreaterThanOrEqual(119)
    expect(inHour).toBeLessThanOrEqual(140)
    expect(inDay).toBeGreaterThanOrEqual(137)
    expect(inDay).toBeLessThanOrEqual(140)
    expect(inMonth).toBeGreaterThanOrEqual(29 * 24 - 1)
    expect(inMonth).toBeLessThanOrEqual(29 * 24 + 1)
    expect(older).toBeGreaterThanOrEqual(10)
    expect(older).toBeLessThanOrEqual(11)
    expect(kept[kept.length - 1]?.version).toBe(version)
  })

  it('keeps the earliest snapshot of each bucket, so survivors do not change as newer ones arrive', () => {
    const t0 = Date.UTC(2026, 0, 1)
    const entries = [0, 1, 2, 3, 4].map((i) => ({ version: i + 1, time: t0 + i * MIN }))
    const doomed = snapshotsToDelete(entries, t0 + 2 * HOUR, DEFAULT_RETENTION)
    expect(doomed).toEqual([2, 3, 4])
    // The newest is never deleted, whatever its age.
    expect(snapshotsToDelete([{ version: 1, time: 0 }], Date.now(), { ...DEFAULT_RETENTION, maxAgeMs: DAY })).toEqual([])
    expect(snapshotsToDelete(entries, t0 + 2 * DAY, { tiers: [], maxAgeMs: DAY })).toEqual([1, 2, 3, 4])
  })

  it('parses tiers and refuses bad ones', () => {
    expect(parseRetentionTiers('1d:1h,1h:10m')).toEqual({
      ok: true,
      tiers: [
        { olderThanMs: HOUR, everyMs: 10 * MIN },
        { olderThanMs: DAY, everyMs: HOUR },
      ],
    })
    expect(parseRetentionTiers('1h')).toMatchObject({ ok: false })
    expect(parseRetentionTiers('1h:0m')).toMatchObject({ ok: false })
  })
})

describe('snapshot trigger', () => {
  const c = { everyPlacements: 100, everySeconds: 60, minIntervalMs: 1000 }
  it('needs a change and either N changes or T seconds (or a catch-up), and respects the minimum interval', () => {
    const base = { changes: 5, msSinceLast: 1000, msSinceWrite: 5000, catchUp: false }
    expect(snapshotDue(base, c)).toBe(false)
    expect(snapshotDue({ ...base, changes: 100 }, c)).toBe(true)
    expect(snapshotDue({ ...base, msSinceLast: 60_000 }, c)).toBe(true)
    expect(snapshotDue({ ...base, catchUp: true }, c)).toBe(true)
    expect(snapshotDue({ ...base, changes: 0, catchUp: true, msSinceLast: 1e9 }, c)).toBe(false)
    expect(snapshotDue({ ...base, changes: 1000, msSinceWrite: 10 }, c)).toBe(false)
  })
})

describe('snapshot folder', () => {
  let tmp: { dir: string; remove: () => void } | null = null
  afterEach(() => tmp?.remove())

  const sidecar = (version: number, time: number): SnapshotSidecar => ({
    format: SIDECAR_FORMAT,
    board: 'main',
    version,
    stateVector: 'AA==',
    epoch: null,
    time,
    width: 2,
    height: 1,
    palette: ['#ffffff', '#000000'],
    configVersion: 1,
    png: `${version}.png`,
    pngBytes: 3,
  })

  it('writes atomically (no temp file left), lists, prunes both files, and cleans up after a killed writer', async () => {
    tmp = makeTmpDir('tessera-store-')
    const dir = join(tmp.dir, 'snapshots', 'main')
    await prepareSnapshotDir(dir)
    const t0 = Date.UTC(2026, 0, 1)
    for (let i = 0; i < 5; i++) await writeSnapshot(dir, new Uint8Array([1, 2, 3]), sidecar(10 + i, t0 + i * MIN))
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([])
    expect(await listVersions(dir)).toEqual([10, 11, 12, 13, 14])
    expect((await readLatest(dir))?.version).toBe(14)
    expect(await pruneSnapshots(dir, t0 + 3 * HOUR, DEFAULT_RETENTION)).toEqual([11, 12, 13])
    expect(readdirSync(dir).sort()).toEqual(['10.json', '10.png', '14.json', '14.png', 'latest.json'])
    // What a writer killed mid-write leaves: a temp file, a PNG whose sidecar never came, junk.
    writeFileSync(join(dir, '.15.png.123.0.tmp'), 'half')
    writeFileSync(join(dir, '15.png'), 'complete but orphaned')
    writeFileSync(join(dir, '16.json'), '{"half":')
    await prepareSnapshotDir(dir)
    expect(existsSync(join(dir, '.15.png.123.0.tmp'))).toBe(false)
    expect(existsSync(join(dir, '15.png'))).toBe(false)
    expect((await listSnapshots(dir)).map((s) => s.version)).toEqual([10, 14])
    await writeFileAtomic(dir, 'x.bin', new Uint8Array([9]))
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([])
  })

  it('has one writer: a second lock on the folder is refused with the holder pid until the first is released', async () => {
    tmp = makeTmpDir('tessera-lock-')
    const dir = join(tmp.dir, 'snapshots', 'main')
    const first = await lockSnapshotFolder(dir)
    // LevelDB also refuses a second open of its LOCK within one process (the other processes
    // are in test/integration/snapshot-writer.test.ts).
    await expect(lockSnapshotFolder(dir)).rejects.toThrow(`${dir} is in use by another snapshotter (pid ${process.pid})`)
    // The cleanup of a killed writer's files leaves the lock alone.
    await prepareSnapshotDir(dir)
    expect(existsSync(join(dir, LOCK_DIR))).toBe(true)
    await first.release()
    await first.release()
    const second = await lockSnapshotFolder(dir)
    await second.release()
  })
})

describe('snapshotter config', () => {
  it('has documented defaults and reads flags over the environment', () => {
    const c = parseSnapshotterConfig({}, '/srv')
    expect(c).toMatchObject({
      relay: 'ws://127.0.0.1:8080/ws',
      boards: ['main'],
      dataDir: '/srv/data',
      everyPlacements: 5000,
      everySeconds: 60,
    })
    const env = snapshotterFlagsToEnv(['--relay', 'ws://relay.example:9000', '--board', 'a', '--board=b', '--every-seconds', '5'])
    expect(parseSnapshotterConfig(env, '/srv')).toMatchObject({ relay: 'ws://relay.example:9000/ws', boards: ['a', 'b'], everySeconds: 5 })
    expect(relayWsBase('https://x.example/base/ws')).toBe('wss://x.example/base/ws')
    expect(() => snapshotterFlagsToEnv(['--nope', '1'])).toThrow(/unknown flag/)
    expect(() => parseSnapshotterConfig({ SNAPSHOT_BOARDS: '../etc' })).toThrow(/board id/)
    expect(() => parseSnapshotterConfig({ SNAPSHOT_EVERY_SECONDS: '0' })).toThrow(/SNAPSHOT_EVERY_SECONDS/)
    // Standalone by default; start.ts passes --parent-pid.
    expect(c.parentPid).toBeNull()
    expect(parseSnapshotterConfig(snapshotterFlagsToEnv(['--parent-pid', '4321'])).parentPid).toBe(4321)
    expect(() => parseSnapshotterConfig({ SNAPSHOT_PARENT_PID: 'x' })).toThrow(/SNAPSHOT_PARENT_PID/)
  })
})
