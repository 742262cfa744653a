/**
 * What the export and timelapse commands share: flag parsing, where snapshots come from (a
 * DATA_DIR or a running relay's HTTP API), regions, and progress on a terminal.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BOARD_ID_PATTERN } from '../shared/board.ts'
import { parseSidecar, SnapshotFiles, type SnapshotSidecar } from '../shared/cold-start.ts'
import { type DecodedPng, decodePalettePng, type Region } from './render-png.ts'
import { listSnapshots, readLatest, readSidecar, snapshotDir } from './store.ts'

/** A usage error: the CLI prints it and exits with status 2. */
export class UsageError extends Error {}

/** Parses `--name value` / `--name=value` flags into a map; only `known` names are accepted. */
export const parseFlags = (argv: readonly string[], known: readonly string[]): Map<string, string> => {
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`)
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    if (!known.includes(name)) throw new UsageError(`unknown flag --${name} (known: ${known.map((k) => `--${k}`).join(' ')})`)
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    if (value === undefined) throw new UsageError(`--${name} needs a value`)
    flags.set(name, value)
  }
  return flags
}

export const parseBoardId = (text: string | undefined): string => {
  const id = text ?? 'main'
  if (!BOARD_ID_PATTERN.test(id)) throw new UsageError(`--board ${JSON.stringify(id)} is not a board id`)
  return id
}

/** "x,y,w,h" in tiles. */
export const parseRegion = (text: string): Region => {
  const m = /^(\d{1,5}),(\d{1,5}),(\d{1,5}),(\d{1,5})$/.exec(text)
  if (!m || Number(m[3]) === 0 || Number(m[4]) === 0) throw new UsageError(`--region must be x,y,w,h (integers, w and h > 0), got ${text}`)
  return { x: Number(m[1]), y: Number(m[2]), w: Number(m[3]), h: Number(m[4]) }
}

export const parseIntFlag = (text: string | undefined, name: string, fallback: number, min: number, max: number): number => {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}, got ${text}`)
  return n
}

/** ms since 1970, or an ISO 8601 date. */
export const parseTimeFlag = (text: string, name: string): number => {
  if (/^\d{1,15}$/.test(text)) return Number(text)
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN
  if (Number.isNaN(t)) throw new UsageError(`--${name} must be ms since 1970 or an ISO 8601 date, got ${text}`)
  return t
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

/** Progress on stderr, redrawn in place, only when stderr is a terminal. */
export const createProgress = (label: string) => {
  const tty = process.stderr.isTTY === true
  let last = 0
  return {
    update: (text: string) => {
      const t = Date.now()
      if (!tty || t - last < 100) return
      last = t
      process.stderr.write(`\r\x1b[2K${label}: ${text}`)
    },
    done: () => {
      if (tty) process.stderr.write('\r\x1b[2K')
    },
  }
}

export const formatBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(2)} MB`

/** Runs a CLI's main: usage errors exit 2, failures exit 1, each with one line on stderr. */
export const runCli = (name: string, usage: string, main: () => Promise<void>): void => {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      if (err instanceof UsageError) console.error(`${name}: ${err.message}\n${usage}`)
      else console.error(`${name}: ${err.message}`)
      process.exit(err instanceof UsageError ? 2 : 1)
    },
  )
}
