import type { Room } from '../relay/room.ts'
import { buildClient, launchChromium } from '../test/helpers/browser.ts'
import { startOnDemandSnapshotter } from '../test/helpers/on-demand-snapshotter.ts'
import { startTestRelay } from '../test/helpers/start-relay.ts'
import { makeTmpDir } from '../test/helpers/tmp-dir.ts'
import { waitFor } from '../test/helpers/wait-for.ts'

const out = makeTmpDir('trace-client-')
const data = makeTmpDir('trace-data-')
await buildClient(out.dir)
const relay = await startTestRelay({
  dataDir: data.dir,
  env: { BOARD_WIDTH: '1000', BOARD_HEIGHT: '1000', BOARD_COOLDOWN_MS: '0', STATIC_DIR: out.dir, SESSION_POW_BITS: '18' },
})
const room = relay.rooms.get('main') as Room
const place = async (n: number, k0: number) => {
  for (let i = k0; i < k0 + n; i++)
    await room.place(
      { x: (i * 7919) % 1000, y: (i * 104729) % 1000, color: 1 + (i % 15) },
      { user: 'u' + (i % 50), ip: '127.0.0.1', isAdmin: false },
    )
}
await place(50000, 0)
const snap = await startOnDemandSnapshotter({ dataDir: data.dir, wsBase: relay.wsBase })
await waitFor(() => snap.synced(), { timeoutMs: 60000, what: 'snap' })
await snap.snapshotNow()
await snap.stop()
await place(10000, 50000)
const browser = await launchChromium()
for (let i = 0; i < 4; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  const tracing = i === 3
  if (tracing)
    await browser.startTracing(page, {
      path: '/tmp/first-trace.json',
      categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing', 'loading', 'v8.execute'],
    })
  const start = Date.now()
  await page.goto(`http://127.0.0.1:${relay.port}/?board=main`)
  if (!process.env.NOPOLL)
    await page.waitForFunction(() => performance.getEntriesByName('tessera:live').length > 0, undefined, { polling: 5, timeout: 30000 })
  await new Promise((r) => setTimeout(r, 1500))
  const marks = await page.evaluate(() =>
    [...performance.getEntriesByType('mark'), ...performance.getEntriesByType('measure')]
      .map((m) => `${m.name}@${Math.round(m.startTime)}+${Math.round(m.duration)}`)
      .join(' '),
  )
  const res = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .map((x) => `${new URL(x.name).pathname.slice(-24)}[${Math.round(x.startTime)},${Math.round(x.responseEnd)}]`)
      .join(' '),
  )
  console.log(`first ${i}: goto->${Date.now() - start}\n  ${marks}\n  ${res}`)
  if (tracing) await browser.stopTracing()
  await context.close()
}
await browser.close()
await relay.close()
out.remove()
data.remove()
