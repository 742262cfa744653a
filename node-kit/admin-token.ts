/**
 * The admin token, the one owner of DATA_DIR/admin-token: the relay takes ADMIN_TOKEN from its
 * configuration or generates one into that file (mode 0600) on first start, which its entry
 * prints once; the operator commands find it from a flag, ADMIN_TOKEN, or the same file.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Env } from './env.ts'
import { UsageError } from './flags.ts'

/** The file the relay keeps a generated admin token in, in its data folder. */
export const adminTokenFile = (dataDir: string): string => join(resolve(dataDir), 'admin-token')

/** Returns the admin token and whether it was created just now (so that it is shown once). */
export const loadOrCreateAdminToken = (dataDir: string, configured: string | null): { token: string; created: boolean } => {
  if (configured) return { token: configured, created: false }
  const file = adminTokenFile(dataDir)
  if (existsSync(file)) {
    chmodSync(file, 0o600)
    return { token: readFileSync(file, 'utf8').trim(), created: false }
  }
  const token = `adm_${randomBytes(24).toString('base64url')}`
  writeFileSync(file, token, { mode: 0o600, flag: 'wx' })
  return { token, created: true }
}

/** Compares a presented token with the admin token in constant time. */
export const isAdminToken = (adminToken: string, presented: string | null): boolean => {
  if (!presented) return false
  const a = Buffer.from(adminToken)
  const b = Buffer.from(presented)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** An operator command's admin token: `--token`, else ADMIN_TOKEN, else the file the relay wrote in its data folder. */
export const findAdminToken = (flag: string | undefined, dataDir: string, env: Readonly<Env>): string => {
  const token = flag ?? env.ADMIN_TOKEN
  if (token) return token
  const file = adminTokenFile(dataDir)
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  throw new UsageError(`no admin token: pass --token, set ADMIN_TOKEN, or point --data-dir at the relay's data (${file} not found)`)
}
