/**
 * Command-line flags, read one way by every program: `--name value` or `--name=value`, nothing
 * else. The operator commands take a known list of flags (parseFlags); the relay and the
 * snapshotter turn their flags into the environment variables of the same settings (flagsToEnv,
 * namedFlagsToEnv) so that each program's typed config is parsed once, from one record.
 *
 * Not node:util parseArgs: it takes an undeclared `--name value` as a boolean and a positional,
 * and a value that starts with `--` as the next flag; these readers take the next argument as the
 * value whatever it is, and the relay accepts any setting's flag without a declared list.
 */
import type { Rect } from '../shared/placement.ts'
import type { Env } from './env.ts'
import { parseTimeText } from './time.ts'

/** A usage error: a command prints it and exits with status 2. */
export class UsageError extends Error {}

/**
 * The flags of argv as [name, value] pairs in order (a repeated flag appears twice). `check` sees
 * each name before its value is read and throws to refuse it. Throws a UsageError on an argument
 * that is not a flag or a flag without a value.
 */
export const readFlags = (argv: readonly string[], check: (name: string) => void = () => {}): [string, string][] => {
  const pairs: [string, string][] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`)
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    check(name)
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    if (value === undefined) throw new UsageError(`--${name} needs a value`)
    pairs.push([name, value])
  }
  return pairs
}

/** Parses flags into a map (a repeated flag keeps its last value); only `known` names are accepted. */
export const parseFlags = (argv: readonly string[], known: readonly string[]): Map<string, string> =>
  new Map(
    readFlags(argv, (name) => {
      if (!known.includes(name)) throw new UsageError(`unknown flag --${name} (known: ${known.map((k) => `--${k}`).join(' ')})`)
    }),
  )

/** Turns `--port 9000 --data-dir x` into { PORT: '9000', DATA_DIR: 'x' } so flags override env. */
export const flagsToEnv = (argv: readonly string[]): Env => {
  const env: Env = {}
  for (const [name, value] of readFlags(argv)) env[name.replaceAll('-', '_').toUpperCase()] = value
  return env
}

/**
 * Turns flags into the environment variables `names` maps them to (`--relay x` = SNAPSHOT_RELAY);
 * the values of a repeated flag whose variable is in `lists` are joined with commas.
 */
export const namedFlagsToEnv = (argv: readonly string[], names: Readonly<Record<string, string>>, lists: readonly string[] = []): Env => {
  const env: Env = {}
  const pairs = readFlags(argv, (flag) => {
    if (!names[flag]) throw new UsageError(`unknown flag --${flag} (known: ${Object.keys(names).join(', ')})`)
  })
  for (const [flag, value] of pairs) {
    const name = names[flag] as string
    env[name] = lists.includes(name) && env[name] ? `${env[name]},${value}` : value
  }
  return env
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

/** ms since 1970, or an ISO 8601 date (node-kit/time.ts). */
export const parseTimeFlag = (text: string, name: string): number => {
  const t = parseTimeText(text)
  if (t === null) throw new UsageError(`--${name} must be ms since 1970 or an ISO 8601 date, got ${text}`)
  return t
}
