/**
 * Reading settings from an environment-like record (parsed once, at a program's entry). Each
 * reader throws an Error naming the variable and the accepted values.
 */

/** Environment variables, or flags turned into them. */
export type Env = Record<string, string | undefined>

/** An integer in min..max, or `fallback` when unset or empty. */
export const envInt = (env: Env, name: string, fallback: number, min: number, max: number): number => {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(raw)}`)
  return n
}

/** true/false (also 1/0, yes/no, on/off), or `fallback` when unset or empty. */
export const envBool = (env: Env, name: string, fallback: boolean): boolean => {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (/^(1|true|yes|on)$/i.test(raw)) return true
  if (/^(0|false|no|off)$/i.test(raw)) return false
  throw new Error(`${name} must be true or false, got ${JSON.stringify(raw)}`)
}
