/** Entry point: parse the configuration once, start the relay, stop cleanly on a signal. */
import { flagsToEnv } from '../node-kit/flags.ts'
import { parseRelayConfig } from './config.ts'
import { startBanner, startRelay } from './relay.ts'

const config = parseRelayConfig({ ...process.env, ...flagsToEnv(process.argv.slice(2)) })
const relay = await startRelay(config).catch((err: Error) => {
  console.error(`tessera relay: ${err.message}`)
  process.exit(1)
})
for (const line of startBanner(relay, config)) console.log(line)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    relay.close().then(() => process.exit(0))
  })
}
