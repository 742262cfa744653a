/** Signs host tokens as a host site would (docs/EMBEDDING.md), and variants a test needs to forge. */
import { createHmac } from 'node:crypto'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** An HS256 JWT over `claims` with `secret` (header overridable: alg none, say). */
export const signHostToken = (
  secret: string,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string => {
  const body = `${b64(header)}.${b64(claims)}`
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`
}

/** Seconds since the Unix epoch, `offsetS` from `nowMs`. */
export const jwtTime = (nowMs: number, offsetS = 0): number => Math.floor(nowMs / 1000) + offsetS

/** A 32-character test secret derived from `label`. */
export const testSecret = (label: string): string => `${label}-${'s'.repeat(32)}`.slice(0, 40)
