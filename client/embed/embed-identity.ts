/**
 * An embed's identity, held in memory only (never a cookie, never storage): a host's signed token
 * exchanged at POST /api/session {"hostToken"}, or without one an anonymous identity (proof of
 * work, {"cookie": false}). The socket presents the relay's token as a subprotocol. A newer
 * request makes an older one's answer stale (a host that signs in twice quickly).
 */
import { WS_PROTOCOL, WS_TOKEN_PROTOCOL_PREFIX } from '../../shared/protocol.ts'
import { type ApiResult, createSession, exchangeHostToken, type Session } from '../sync/api.ts'
import type { RejectedDetail } from './embed-events.ts'

export type EmbedIdentity = {
  /** Asks for an identity (from the host's token if given); the events say how it ended. */
  acquire: (hostToken: string | null) => void
  /** Drops any answer still on its way (the embed is going away or starting again). */
  forget: () => void
  /** The relay's token, or null (none yet, or refused). */
  token: () => string | null
  /** Who the token names (the relay's user id and the host's name for it), or null. */
  me: () => { user: string; name: string | null } | null
  /** Why the last request was refused, or null. */
  refusal: () => RejectedDetail | null
  /** The subprotocols a socket offers: the token's, or none (read-only). */
  protocols: () => string[] | undefined
}

export const createEmbedIdentity = (
  origin: string,
  events: { onIdentity: () => void; onRefused: (detail: RejectedDetail) => void },
): EmbedIdentity => {
  let token: string | null = null
  let me: { user: string; name: string | null } | null = null
  let refusal: RejectedDetail | null = null
  // Bumped on every request: an answer to an older one is dropped.
  let round = 0
  return {
    acquire: (hostToken) => {
      const mine = ++round
      token = null
      me = null
      refusal = null
      const asked: Promise<ApiResult<Session>> = hostToken ? exchangeHostToken(origin, hostToken) : createSession(origin, false, true)
      void asked.then((answer) => {
        if (mine !== round) return
        if (!answer.ok || !answer.token) {
          const body = (!answer.ok && answer.body) || {}
          refusal = {
            code: answer.ok ? 'unauthorized' : answer.error,
            message: answer.ok ? 'the relay answered no token' : answer.message,
            ...(typeof body.reason === 'string' ? { reason: body.reason } : {}),
          }
          events.onRefused(refusal)
          return
        }
        token = answer.token
        me = { user: answer.user, name: typeof answer.name === 'string' ? answer.name : null }
        events.onIdentity()
      })
    },
    forget: () => {
      round++
    },
    token: () => token,
    me: () => me,
    refusal: () => refusal,
    protocols: () => (token ? [WS_PROTOCOL, `${WS_TOKEN_PROTOCOL_PREFIX}${token}`] : undefined),
  }
}
