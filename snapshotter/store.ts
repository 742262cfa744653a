/**
 * The snapshot folder of one board: DATA_DIR/snapshots/<board>/
 *
 *   <version>.png    palette PNG of the whole board            immutable
 *   <version>.json   its sidecar (shared/snapshot-sidecar.ts)  immutable, written after the PNG
 *   latest.json      a copy of the newest sidecar              replaced on every snapshot
 *   .<name>.<pid>.<n>.tmp   a write in progress (never served; removed on start)
 *
 * Every file is written atomically: a temporary file in the same folder, fsync, rename, then
 * fsync of the folder. A writer killed at any moment leaves either the old state or the new one,
 * plus perhaps a dot-file that readers ignore. Because the sidecar is renamed into place only
 * after its PNG, a visible sidecar always has its PNG; deletion goes the other way round.
 * This module writes the folder; node-kit/snapshot-folder.ts is its one reader.
 */
import { mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { listSnapshots } from '../node-kit/snapshot-folder.ts'
import { SnapshotFiles, type SnapshotSidecar } from '../shared/snapshot-sidecar.ts'
import { type RetentionPolicy, snapshotsToDelete } from './retention.ts'

let tmpCounter = 0

/** Writes `bytes` to dir/name atomically (temp file + fsync + rename + fsync of the folder). */
export const writeFileAtomic = async (dir: string, name: string, bytes: Uint8Array): Promise<void> => {
  const tmp = join(dir, `.${name}.${process.pid}.${tmpCounter++}.tmp`)
  const file = await open(tmp, 'w')
  try {
    await file.writeFile(bytes)
    await file.sync()
  } finally {
    await file.close()
  }
  try {
    await rename(tmp, join(dir, name))
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  // The rename is durable only once the folder's entry is (POSIX); not possible on Windows.
  const folder = await open(dir, 'r').catch(() => null)
  if (folder) {
    await folder.sync().catch(() => {})
    await folder.close()
  }
}

/**
 * Creates the folder and removes what a killed writer left behind: temporary files, and PNGs
 * whose sidecar was never written (complete files, but not part of any snapshot).
 */
export const prepareSnapshotDir = async (dir: string): Promise<void> => {
  await mkdir(dir, { recursive: true })
  const names = await readdir(dir)
  const present = new Set(names)
  for (const name of names) {
    const orphan = /^(\d{1,15})\.png$/.exec(name)
    if ((name.startsWith('.') && name.endsWith('.tmp')) || (orphan && !present.has(`${orphan[1]}.json`))) {
      await rm(join(dir, name), { force: true })
    }
  }
}

/** Writes a snapshot: the PNG, then its sidecar, then latest.json. */
export const writeSnapshot = async (dir: string, png: Uint8Array, sidecar: SnapshotSidecar): Promise<void> => {
  const json = new TextEncoder().encode(`${JSON.stringify(sidecar)}\n`)
  await writeFileAtomic(dir, SnapshotFiles.png(sidecar.version), png)
  await writeFileAtomic(dir, SnapshotFiles.sidecar(sidecar.version), json)
  await writeFileAtomic(dir, SnapshotFiles.latest, json)
}

/** Deletes a snapshot: sidecar first (it stops being listed), then its PNG. */
export const removeSnapshot = async (dir: string, version: number): Promise<void> => {
  await rm(join(dir, SnapshotFiles.sidecar(version)), { force: true })
  await rm(join(dir, SnapshotFiles.png(version)), { force: true })
}

/** Applies the retention policy. Returns the versions deleted. */
export const pruneSnapshots = async (dir: string, now: number, policy: RetentionPolicy): Promise<number[]> => {
  const doomed = snapshotsToDelete(await listSnapshots(dir), now, policy)
  for (const v of doomed) await removeSnapshot(dir, v)
  return doomed
}
