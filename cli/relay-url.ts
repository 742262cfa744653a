/**
 * Where the operator commands find the relay: `--relay`, TESSERA_URL, or the address a relay
 * started with the same environment listens on.
 */
import { UsageError } from '../node-kit/flags.ts'

/** The environment variables the operator commands read (passed in by each entry). */
export type CliEnv = Readonly<Record<string, string | undefined>>

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
