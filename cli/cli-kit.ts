/**
 * What every command-line tool shares: flag parsing with usage errors, integer/time/region flags,
 * finding the relay and its admin token, progress on a terminal, and a main runner with exit
 * codes (2 usage, 1 failure).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Rect } from '../shared/placement.ts'

/** The environment variables the operator commands read (passed in by each entry). */
export type CliEnv = Readonly<Record<string, string | undefined>>

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

/** "x,y,w,h" in tiles. */
export const parseRegion = (text: string): Rect => {
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

/**
 * The relay's base URL (no trailing slash): `--relay`, else TESSERA_URL, else where a relay
 * started with the same environment listens: HOST and PORT as relay/config.ts reads them (PORT
 * default 8080; HOST '' or a wildcard address = all interfaces, reached here as localhost).
 */
export const relayUrl = (flag: string | undefined, env: CliEnv): string => {
  const given = flag ?? env.TESSERA_URL
  if (given !== undefined && given !== '') return given.replace(/\/+$/, '')
  const portText = env.PORT ?? '8080'
  const port = Number(portText)
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
    throw new UsageError(`PORT=${portText} names no port to reach the relay on: pass --relay URL or set TESSERA_URL`)
  }
  const host = env.HOST ?? ''
  const reachable = host === '' || host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host
  return `http://${reachable}:${port}`
}

/** The admin token: `--token`, else ADMIN_TOKEN, else the file the relay wrote in its data folder. */
export const adminToken = (flag: string | undefined, dataDir: string, env: CliEnv): string => {
  const token = flag ?? env.ADMIN_TOKEN
  if (token) return token
  const file = join(resolve(dataDir), 'admin-token')
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  throw new UsageError(`no admin token: pass --token, set ADMIN_TOKEN, or point --data-dir at the relay's data (${file} not found)`)
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
