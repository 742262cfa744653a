/**
 * Reading a board's snapshot folder, DATA_DIR/snapshots/<board>/ (layout: snapshotter/store.ts,
 * its one writer; file names and sidecar checker: shared/snapshot-sidecar.ts). The one reader of
 * the folder: the relay serves it (relay/snapshot-routes.ts), the snapshotter reads back its
 * latest and the export and timelapse commands read it (snapshotter/cli-common.ts).
 * A file that is missing, unreadable or not a sidecar reads as none (null): a folder being
 * written or pruned meanwhile is normal, not an error.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseSidecar, SnapshotFiles, type SnapshotSidecar } from '../shared/snapshot-sidecar.ts'

/** The snapshot folder of a board. `board` must match BOARD_ID_PATTERN. */
export const snapshotDir = (dataDir: string, board: string): string => join(dataDir, 'snapshots', board)

/** The sidecar in a file, or null if it is missing, unreadable or not a sidecar. */
export const readSidecarFile = async (path: string): Promise<SnapshotSidecar | null> => {
  try {
    return parseSidecar(JSON.parse(await readFile(path, 'utf8')))
  } catch {
    return null
  }
}

/** The newest snapshot's sidecar (latest.json), or null if there is none yet. */
export const readLatest = (dir: string): Promise<SnapshotSidecar | null> => readSidecarFile(join(dir, SnapshotFiles.latest))

/** One snapshot's sidecar, or null if it is not kept. */
export const readSidecar = (dir: string, version: number): Promise<SnapshotSidecar | null> =>
  readSidecarFile(join(dir, SnapshotFiles.sidecar(version)))

/** Versions that have a sidecar, ascending. A missing folder has none. */
export const listVersions = async (dir: string): Promise<number[]> => {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return []
  }
  return names
    .map((n) => /^(\d{1,15})\.json$/.exec(n))
    .flatMap((m) => (m ? [Number(m[1])] : []))
    .sort((a, b) => a - b)
}

/** Every kept snapshot's sidecar, ascending by version (unreadable ones are skipped). */
export const listSnapshots = async (dir: string): Promise<SnapshotSidecar[]> => {
  const out: SnapshotSidecar[] = []
  for (const v of await listVersions(dir)) {
    const s = await readSidecar(dir, v)
    if (s) out.push(s)
  }
  return out
}

/**
 * The newest snapshot taken at or before `t` (ms since the Unix epoch), or null. Versions grow
 * with time, so this is a binary search reading O(log n) sidecars.
 */
export const findSidecarAt = async (dir: string, t: number): Promise<SnapshotSidecar | null> => {
  const versions = await listVersions(dir)
  let lo = 0
  let hi = versions.length - 1
  let found: SnapshotSidecar | null = null
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const s = await readSidecar(dir, versions[mid] as number)
    if (s && s.time <= t) {
      found = s
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/** The newest snapshot: latest.json, else (a folder copied by hand) the highest version with a sidecar; null if none. */
export const findNewest = async (dir: string): Promise<SnapshotSidecar | null> => {
  const latest = await readLatest(dir)
  if (latest) return latest
  const versions = await listVersions(dir)
  return versions.length ? await readSidecar(dir, versions[versions.length - 1] as number) : null
}
