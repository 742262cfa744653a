/**
 * What the export and timelapse commands share: flag parsing, where snapshots come from (a
 * DATA_DIR or a running relay's HTTP API), regions, and progress on a terminal.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { UsageError } from '../node-kit/flags.ts'
import { listSnapshots, readLatest, readSidecar, snapshotDir } from '../node-kit/snapshot-folder.ts'
import { BOARD_ID_PATTERN } from '../shared/board.ts'
import { parseSidecar, SnapshotFiles, type SnapshotSidecar } from '../shared/snapshot-sidecar.ts'
import { type DecodedPng, decodePalettePng, type Region } from './render-png.ts'

export const parseBoardId = (text: string | undefined): string => {
  const id = text ?? 'main'
  if (!BOARD_ID_PATTERN.test(id)) throw new UsageError(`--board ${JSON.stringify(id)} is not a board id`)
  return id
}

/** Checks that a region lies inside a board. */
export const checkRegion = (region: Region, width: number, height: number): void => {
  if (region.x + region.w > width || region.y + region.h > height) {
    throw new UsageError(`--region ${region.x},${region.y},${region.w},${region.h} is outside the ${width}x${height} board`)
  }
}

/** Where snapshots are read from. */
export type SnapshotSource = {
  describe: string
  /** The newest snapshot, that version, or the newest taken at or before `at`; null if none. */
  find: (q: { version?: number; at?: number }) => Promise<SnapshotSidecar | null>
  /** Kept snapshots (version, time) between two times, ascending. */
  list: (from: number, to: number) => Promise<{ version: number; time: number }[]>
  /** A snapshot's PNG, decoded. */
  png: (sidecar: SnapshotSidecar) => Promise<DecodedPng>
}

const decodeOrThrow = (bytes: Uint8Array, what: string): DecodedPng => {
  const r = decodePalettePng(bytes)
  if (!r.ok) throw new Error(`${what}: ${r.error}`)
  return r.png
}

/** Snapshots in DATA_DIR/snapshots/<board>/. */
export const dataDirSource = (dataDir: string, board: string): SnapshotSource => {
  const dir = snapshotDir(dataDir, board)
  return {
    describe: dir,
    find: async ({ version, at }) => {
      if (version !== undefined) return readSidecar(dir, version)
      if (at !== undefined) {
        const all = (await listSnapshots(dir)).filter((s) => s.time <= at)
        return all[all.length - 1] ?? null
      }
      return (await readLatest(dir)) ?? (await listSnapshots(dir)).pop() ?? null
    },
    list: async (from, to) =>
      (await listSnapshots(dir)).filter((s) => s.time >= from && s.time <= to).map((s) => ({ version: s.version, time: s.time })),
    png: async (s) => decodeOrThrow(new Uint8Array(await readFile(join(dir, SnapshotFiles.png(s.version)))), `${dir}/${s.png}`),
  }
}

/** Snapshots served by a relay (http://host:port). */
export const relaySource = (baseUrl: string, board: string): SnapshotSource => {
  const base = baseUrl.replace(/\/+$/, '')
  const getJson = async (path: string): Promise<unknown | null> => {
    const res = await fetch(`${base}${path}`)
    if (res.status === 404) return null
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`)
    return res.json()
  }
  return {
    describe: base,
    find: async ({ version, at }) => {
      const q = version !== undefined ? `?version=${version}` : at !== undefined ? `?at=${at}` : ''
      return parseSidecar(await getJson(`/api/boards/${board}/snapshot${q}`))
    },
    list: async (from, to) => {
      const q = `?from=${Number.isFinite(from) ? from : 0}${Number.isFinite(to) ? `&to=${to}` : ''}`
      const body = (await getJson(`/api/boards/${board}/snapshots${q}`)) as { snapshots?: { version: number; time: number }[] } | null
      if (!body) throw new Error(`the relay at ${base} has no board ${board}`)
      return body.snapshots ?? []
    },
    png: async (s) => {
      const res = await fetch(`${base}/snapshots/${board}/${SnapshotFiles.png(s.version)}`)
      if (!res.ok) throw new Error(`GET /snapshots/${board}/${s.png}: ${res.status}`)
      return decodeOrThrow(new Uint8Array(await res.arrayBuffer()), s.png)
    },
  }
}
