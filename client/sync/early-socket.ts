/**
 * A first visit's socket opened as soon as the board's info names the snapshot's seq, while the
 * snapshot's PNG is still fetched and decoded (issue 12: the catch-up no longer waits for the
 * first paint). The connection (client/sync/connection.ts) opens its first socket later, once the
 * board it catches up is loaded: given this constructor as its ConnectionEnv.WebSocket, it gets
 * the early socket when it asks for the same URL (since=<the snapshot's seq>), with every event
 * that socket had meanwhile (open, frames, close) delivered to its handlers in order, as if they
 * had just happened. Asked for any other URL (the snapshot could not be read, so the page syncs
 * from blank), the early socket is closed and a new one made. Only the first socket asked for is
 * ever the early one; frames held meanwhile are a few hundred KB at most (a since= catch-up).
 */

type Handler = 'onopen' | 'onmessage' | 'onerror' | 'onclose'
type Facade = Pick<WebSocket, 'readyState' | 'binaryType' | 'send' | 'close'> & Record<Handler, ((ev: Event) => void) | null>

const HANDLERS: readonly Handler[] = ['onopen', 'onmessage', 'onerror', 'onclose']

/** Opens the early socket at `url` now; returns the WebSocket constructor that hands it over. */
export const openEarlySocket = (url: string, Real: typeof WebSocket = WebSocket): typeof WebSocket => {
  let early: WebSocket | null = new Real(url)
  early.binaryType = 'arraybuffer'
  // Events before the connection took the socket, in order; null once they were delivered.
  let held: [Handler, Event][] | null = []
  let facade: Facade | null = null
  for (const h of HANDLERS) {
    early[h] = (ev: Event) => {
      if (held) held.push([h, ev])
      else facade?.[h]?.(ev)
    }
  }

  const adopt = (ws: WebSocket): Facade => {
    const f: Facade = {
      get readyState() {
        return ws.readyState
      },
      get binaryType() {
        return ws.binaryType
      },
      set binaryType(v: BinaryType) {
        ws.binaryType = v
      },
      send: (data) => ws.send(data),
      close: (code, reason) => ws.close(code, reason),
      onopen: null,
      onmessage: null,
      onerror: null,
      onclose: null,
    }
    facade = f
    // The connection sets its handlers right after constructing (synchronously): deliver then.
    queueMicrotask(() => {
      const past = held ?? []
      held = null
      for (const [h, ev] of past) f[h]?.(ev)
    })
    return f
  }

  function HandOver(u: string | URL, protocols?: string | string[]): WebSocket {
    const taken = early
    early = null
    if (taken && String(u) === url && protocols === undefined) return adopt(taken) as unknown as WebSocket
    if (taken) {
      for (const h of HANDLERS) taken[h] = null
      taken.close(1000, 'not needed')
    }
    return protocols === undefined ? new Real(u) : new Real(u, protocols)
  }
  return HandOver as unknown as typeof WebSocket
}
