/**
 * The admin token: ADMIN_TOKEN from the configuration, or one generated into DATA_DIR/admin-token
 * (mode 0600) on first start, which the entry prints once.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Returns the admin token and whether it was created just now (so that it is shown once). */
export const loadOrCreateAdminToken = (dataDir: string, configured: string | null): { token: string; created: boolean } => {
  if (configured) return { token: configured, created: false }
  const file = join(dataDir, 'admin-token')
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
