/**
 * The page's identity (docs/CLIENT.md "Identity"): who it places as, whether it may place, and
 * keeping the identity's token alive. The relay's session answer (POST /api/session) names the
 * identity and sets its HttpOnly cookie; each socket's Session frame confirms it (and carries a
 * ban). A returning identity is renewed at once (no proof of work: its cookie is valid
 * meanwhile); a first visit's identity is made only once the board is live, since its proof of
 * work would compete with the first paint and the catch-up for the main thread.
 */
import { type ApiResult, createSession, type Session } from './api.ts'
import type { Connection } from './connection.ts'

/** Where the page remembers when its identity cookie expires (ms, relay clock), to know whether it holds one. */
export const SESSION_KEY = 'tessera.sessionExpiresAt'
/** Ms before a failed renewal (offline, say) is tried again. */
const RENEWAL_RETRY_MS = 60_000
/** setTimeout holds at most 2^31 - 1 ms (24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

export type IdentityKeeper = {
  /** The identity's user id ('' until known). */
  me: () => string
  /** The relay refused this page an identity: it may only watch. */
  readOnly: () => boolean
  /** The ban's reason ('' if none given) while this identity or its address is banned; null if not banned. */
  banned: () => string | null
  /** A first visit's identity is still to be made (asked once live). */
  pending: () => boolean
  /** The board is live: a first visit's identity is asked for; a start that could not reach the relay asks again. */
  live: () => void
  /** The socket was closed as unauthorised (a forged or expired token): a fresh identity, once, then reconnects. */
  refused: () => void
  /** A socket's Session frame (sent again when the identity places from another tab, is banned or unbanned). */
  sessionFrame: (s: { user: string; banned: string | null }) => void
}

export const createIdentityKeeper = (deps: {
  origin: string
  storage: Storage | null
  /** The page's connection, once it has one. */
  connection: () => Connection | null
  /** Called when what the Place button shows may have changed. */
  changed: () => void
}): IdentityKeeper => {
  const { origin, storage } = deps
  // When the identity cookie (HttpOnly: unreadable here) expires, as last told by the relay.
  const holdsIdentity = () => Number(storage?.getItem(SESSION_KEY)) > Date.now()
  const rememberSession = (s: Session) => storage?.setItem(SESSION_KEY, String(s.expiresAt))

  let me = ''
  let readOnly = false
  let banned: string | null = null
  // Whether POST /api/session could not reach the relay (offline start): asked again once live.
  let sessionUnreached = false
  let renewedIdentity = false
  const holdsAtStart = holdsIdentity()
  let identityPending = !holdsAtStart

  // Renew the token (same user, fresh expiry) once it is past half its life, while the page is
  // open; a page load renews it too.
  let renewal: ReturnType<typeof setTimeout> | undefined
  const renewIn = (ms: number) => {
    clearTimeout(renewal)
    renewal = setTimeout(
      () =>
        void createSession(origin, holdsIdentity()).then((r) => {
          if (!r.ok) return renewIn(RENEWAL_RETRY_MS)
          me = r.user
          rememberSession(r)
          scheduleRenewal(r)
          // The open socket presented the old token, which the relay refuses once it expires.
          deps.connection()?.reconnect()
        }),
      Math.min(MAX_TIMEOUT_MS, Math.max(RENEWAL_RETRY_MS, ms)),
    )
  }
  const scheduleRenewal = (s: Session) => renewIn((s.expiresAt - s.issuedAt) / 2)
  const takeSession = (session: ApiResult<Session>) => {
    if (session.ok) {
      me = session.user
      readOnly = false
      sessionUnreached = false
      rememberSession(session)
      scheduleRenewal(session)
    } else if (session.status === 0) {
      // Unreachable: a cookie from an earlier visit may still be valid; the Session frame will say.
      sessionUnreached = true
    } else readOnly = true
  }

  // A returning identity is renewed at once.
  let sessionAsked: Promise<ApiResult<Session>> | null = holdsAtStart ? createSession(origin, true) : null
  if (sessionAsked) void sessionAsked.then(takeSession)

  const askIdentity = () => {
    if (sessionAsked) return
    sessionAsked = createSession(origin, false)
    void sessionAsked.then((session) => {
      identityPending = false
      takeSession(session)
      // The socket opened without the cookie this answer set: open one that presents it.
      if (session.ok) deps.connection()?.handOver()
      deps.changed()
    })
  }

  return {
    me: () => me,
    readOnly: () => readOnly,
    banned: () => banned,
    pending: () => identityPending,
    live: () => {
      askIdentity()
      if (!sessionUnreached) return
      void createSession(origin, holdsIdentity()).then((r) => {
        const wasReadOnly = readOnly
        takeSession(r)
        if (r.ok && wasReadOnly) deps.connection()?.reconnect()
      })
    },
    refused: () => {
      if (renewedIdentity) return
      renewedIdentity = true
      // The cookie was refused: whatever the page remembered, a new identity is needed.
      storage?.removeItem(SESSION_KEY)
      void createSession(origin, false).then((r) => {
        if (!r.ok) return
        takeSession(r)
        deps.connection()?.reconnect()
      })
    },
    sessionFrame: (s) => {
      if (s.user) me = s.user
      // Without a cookie yet (a first visit's identity is being made), anonymous is expected.
      readOnly = s.user === '' && !identityPending
      banned = s.banned
    },
  }
}
