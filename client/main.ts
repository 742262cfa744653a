/** Entry point: read the board id from the URL and start the client against this page's relay. */
import { boardIdFrom, startApp } from './app.ts'

const boardId = boardIdFrom(location.search)
const wsBase = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`

const storage = (() => {
  try {
    return window.localStorage
  } catch {
    // Storage disabled (private mode, sandboxed iframe): the colour is simply not remembered.
    return null
  }
})()

startApp({ origin: '', wsBase, boardId, storage }).then((hook) => {
  // A read-only handle for tests and curious people: window.__tessera.bitmap() and so on.
  if (hook) (window as unknown as { __tessera: unknown }).__tessera = hook
})
