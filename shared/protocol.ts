/**
 * Wire protocol names and numbers: message types, close codes, error codes and their HTTP
 * statuses, limits, query parameters, the session and host-token answers, placement ids. Frames
 * are binary WebSocket messages; each starts with a varuint message type, as in y-websocket (0
 * sync, 1 awareness, 2 auth, 3 query awareness). Types from 100 are Tessera's; their codecs are
 * shared/frames.ts.
 */

/** First varuint of every frame. */
export const MessageType = {
  /** y-protocols sync: step 1 (state vector), step 2 (diff), update. Clients may send step 1 only. */
  Sync: 0,
  /** y-protocols awareness. The relay never fans these out (N^2); it sends empty ones as heartbeats. */
  Awareness: 1,
  /** y-protocols auth (unused; the relay ignores it). */
  Auth: 2,
  /** y-protocols query awareness: answered with an empty awareness update. */
  QueryAwareness: 3,
  /** client -> relay: place a tile. [100, requestId, x, y, color, id?] (id: PLACEMENT_ID_PATTERN, optional) */
  Place: 100,
  /** relay -> client: the answer to a Place. See PlaceResultFrame. */
  PlaceResult: 101,
  /** relay -> client: people connected to this board. [102, online] */
  Presence: 102,
  /** relay -> client: a typed error, often just before a close. [103, code, message] */
  Error: 103,
  /** relay -> client: who this socket is and when it may place next. [104, user, nextPlaceAt] */
  Session: 104,
  /**
   * relay -> client (live=tiles sockets only): committed tile writes in history order.
   * [105, firstSeq, count, count x u32 little-endian tile value]; see encodeTiles.
   */
  Tiles: 105,
  /** relay -> client (live=tiles sockets only): the board's document config. [106, JSON string] */
  Config: 106,
} as const

/**
 * WebSocket close codes the relay uses. 4400-4499 tell y-websocket's provider (3.x) not to
 * reconnect: they mean "this will not work if you try again".
 */
export const CloseCode = {
  /** The relay is shutting down; reconnect later. */
  GoingAway: 1001,
  /** ws closes a socket whose frame exceeds the relay's maxFrameBytes with this code. */
  TooLarge: 1009,
  /** A frame could not be decoded (truncated, bad varint, unknown message type). */
  Malformed: 4400,
  /** The token given is forged, altered or expired. */
  Unauthorized: 4401,
  /** The client sent document content: clients are read-only on the CRDT channel. */
  ReadOnly: 4403,
  /** No board has this id. */
  UnknownBoard: 4404,
  /** Too many messages, or too many connections from one address. */
  RateLimited: 4429,
  /**
   * The socket left more than MAX_SOCKET_BACKLOG_BYTES of frames unread (beyond an answer it was
   * reading). Outside 4400-4499 on purpose: a slow reader should reconnect (and resume).
   */
  TooFarBehind: 4508,
} as const

/** Expected rejections of a placement (data, not exceptions). */
export const PlaceError = {
  BadRequest: 'bad-request',
  OutOfBounds: 'out-of-bounds',
  BadColor: 'bad-color',
  Cooldown: 'cooldown',
  Unauthorized: 'unauthorized',
  Banned: 'banned',
  Protected: 'protected',
  Locked: 'locked',
  UnknownBoard: 'unknown-board',
  RateLimited: 'rate-limited',
  Unavailable: 'unavailable',
} as const
export type PlaceError = (typeof PlaceError)[keyof typeof PlaceError]

/** HTTP status of each placement error. */
export const PLACE_ERROR_STATUS: Record<PlaceError, number> = {
  'bad-request': 400,
  'out-of-bounds': 400,
  'bad-color': 400,
  cooldown: 429,
  unauthorized: 401,
  banned: 403,
  protected: 403,
  locked: 403,
  'unknown-board': 404,
  'rate-limited': 429,
  unavailable: 503,
}

/** Outcome of a placement, over HTTP (JSON) and WebSocket (PlaceResult frame). */
export type PlaceResult =
  | {
      ok: true
      /** Relay time the placement was applied at (ms since the Unix epoch). */
      placedAt: number
      /** Earliest time the identity may place again (ms since the Unix epoch). */
      nextPlaceAt: number
    }
  | {
      ok: false
      error: PlaceError
      /** For cooldown and rate limits: milliseconds until a retry may succeed. */
      retryAfterMs?: number
      /**
       * Human-readable detail (ban reason, which field was bad, how long to wait). Every refusal
       * has one (docs/PROTOCOL.md: every failure is { ok, error, message }).
       */
      message: string
    }

/** Defaults of the relay's limits (each can be changed in the relay config). */
export const Limits = {
  /** Largest WebSocket frame a client may send, bytes. */
  maxFrameBytes: 1024 * 1024,
  /** Largest HTTP request body, bytes. */
  maxBodyBytes: 16 * 1024,
  /**
   * Milliseconds between heartbeats to every socket. y-websocket's provider drops a socket that
   * received nothing for 30 s, so this must stay well below that.
   */
  heartbeatMs: 10_000,
  /** Messages a socket may send per second on average, and in one burst. */
  messagesPerSecond: 50,
  messageBurst: 200,
} as const

/**
 * Identities (POST /api/session, docs/PROTOCOL.md "Identity"). A new identity costs a proof of
 * work (shared/proof-of-work.ts); a valid token is renewed for free. Defaults of the relay's
 * settings; each can be changed in the relay config.
 */
export const SessionLimits = {
  /** Leading zero bits a new identity's proof of work must have (SESSION_POW_BITS; 0 = none). ~0.5 s in a browser. */
  powBits: 18,
  /** Milliseconds a challenge stays redeemable after it is issued (also how long its use is remembered). */
  challengeTtlMs: 5 * 60_000,
  /** Milliseconds a token is valid after it was issued or renewed (TOKEN_TTL_MS): 30 days. */
  tokenTtlMs: 30 * 24 * 3_600_000,
  /** Placements per board cooldown one address may make across all its identities (IP_PLACEMENTS_PER_COOLDOWN; 0 = off). */
  ipPlacementsPerCooldown: 20,
} as const

/** Expected refusals of POST /api/session (data; the HTTP status is in SESSION_ERROR_STATUS). */
export const SessionError = {
  /** No token (or an expired or invalid one) and no proof of work: the answer carries a challenge. */
  PowRequired: 'pow-required',
  /** The challenge was not issued by this relay (or was altered), or the nonce does not meet its bits. */
  PowInvalid: 'pow-invalid',
  /** The challenge is older than challengeTtlMs: solve the fresh one in the answer. */
  ChallengeExpired: 'challenge-expired',
  /** The challenge was already redeemed for an identity: solve the fresh one in the answer. */
  ChallengeUsed: 'challenge-used',
  /** Too many new identities from this address (SESSIONS_PER_IP_PER_HOUR), or too many at once. */
  RateLimited: 'rate-limited',
} as const
export type SessionError = (typeof SessionError)[keyof typeof SessionError]

/**
 * HTTP status of each session refusal. Every proof-of-work refusal is 428 and carries a fresh
 * challenge, so a client's only rule is "on 428, solve the challenge in the answer and retry".
 */
export const SESSION_ERROR_STATUS: Record<SessionError, number> = {
  'pow-required': 428,
  'pow-invalid': 428,
  'challenge-expired': 428,
  'challenge-used': 428,
  'rate-limited': 429,
}

/** A proof-of-work challenge: find a nonce such that SHA-256(challenge + ':' + nonce) has `bits` leading zero bits. */
export type PowChallenge = {
  /** Relay-signed, opaque; redeemable once, until expiresAt. */
  challenge: string
  /** Leading zero bits the hash must have (0: any nonce, e.g. "0"). */
  bits: number
  /** Relay time after which the challenge is refused (ms since the Unix epoch). */
  expiresAt: number
}

/** The answer to POST /api/session. */
export type SessionAnswer =
  | {
      ok: true
      /** The bearer token (also set as the HttpOnly tessera_token cookie). */
      token: string
      /** The identity's public name, 16 characters; kept across renewals. */
      user: string
      /** When this token was issued or renewed, and when it stops being accepted (ms since the Unix epoch). */
      issuedAt: number
      expiresAt: number
    }
  | ({ ok: false; error: SessionError; message: string; retryAfterMs?: number } & Partial<PowChallenge>)

/**
 * Identities vouched for by a host site that embeds the board (docs/EMBEDDING.md "Identity from
 * the host site"): POST /api/session with {"hostToken": "<HS256 JWT>"} exchanges a host-signed
 * token for a relay token. Limits of the host token.
 */
export const HostTokenLimits = {
  /** Longest accepted host token, characters (a typical one is 200 to 400). */
  maxTokenChars: 4096,
  /** Longest `sub` (the host's user id), characters. */
  maxSubChars: 128,
  /** Longest `iss` (which host), characters. */
  maxIssChars: 128,
  /** Longest `name` kept, code points after trimming and stripping control characters (longer names are cut). */
  maxNameChars: 64,
  /** Clock difference tolerated between host and relay, ms: `exp` may be this far past, `iat` and `nbf` this far ahead. */
  clockSkewMs: 30_000,
  /** Furthest `exp` may lie ahead of the relay's clock (plus clockSkewMs), ms: host tokens are short-lived. */
  maxLifetimeMs: 24 * 3_600_000,
} as const

/** Why a host token was refused (the `reason` of a 401 `unauthorized` answer to POST /api/session). */
export const HostTokenReason = {
  /** Not a compact HS256 JWS with a JSON header and claims, `alg` is not HS256, or a claim is missing or invalid. */
  Malformed: 'malformed',
  /** The signature does not match under the issuer's secret (forged, altered, or signed with another secret). */
  BadSignature: 'bad-signature',
  /** `exp` (plus clockSkewMs) is past, or `nbf` (minus clockSkewMs) is still ahead. */
  Expired: 'expired',
  /** The token's `iss` has no per-site secret and no EMBED_SECRET is configured for issuers without one. */
  UnknownIssuer: 'unknown-issuer',
  /** The relay has no EMBED_SECRET and no per-site secret: it accepts no host tokens. */
  EmbedDisabled: 'embed-disabled',
} as const
export type HostTokenReason = (typeof HostTokenReason)[keyof typeof HostTokenReason]

/** The answer to POST /api/session {"hostToken"}. */
export type HostSessionAnswer =
  | {
      ok: true
      /** A relay token (as in SessionAnswer) for the relay identity of (issuer, host user). Never set as a cookie. */
      token: string
      /** The relay identity: the same for the same (iss, sub), different across issuers. */
      user: string
      /** The display name the host token carried (cleaned), or null. */
      name: string | null
      /** The host token's `iss`, or null for a token without one. */
      issuer: string | null
      issuedAt: number
      /** The host token's `exp` (ms), or issuedAt + TOKEN_TTL_MS if that is sooner. */
      expiresAt: number
    }
  | { ok: false; error: 'unauthorized'; reason: HostTokenReason; message: string }

/**
 * Refusal of POST /api/session from a browser page of an origin that may not take identities
 * (not the relay's own, not in EMBED_PLACE_ORIGINS or EMBED_ORIGINS): HTTP 403.
 */
export const ORIGIN_NOT_ALLOWED = 'origin-not-allowed'

/**
 * WebSocket subprotocols. A browser cannot set headers on a WebSocket handshake, and a token in
 * the URL may be kept in logs, so a page offers its token as a subprotocol:
 * `new WebSocket(url, [WS_PROTOCOL, WS_TOKEN_PROTOCOL_PREFIX + token])`. The relay answers with
 * WS_PROTOCOL (never echoes the token) and reads the token from the other entry as it reads
 * `Authorization: Bearer` (any Origin; not subject to the foreign-cookie rule).
 */
export const WS_PROTOCOL = 'tessera'
/** Prefix of the subprotocol entry that carries a relay token. */
export const WS_TOKEN_PROTOCOL_PREFIX = 'tessera.token.'

/** Name of the cookie that carries the identity token. */
export const TOKEN_COOKIE = 'tessera_token'
/**
 * Prefix of the cookie (`tessera_kept_<board id>=1`) by which the app page says it keeps that
 * board (IndexedDB): its next page shows the kept board first, so the relay's answer to that page
 * does not preload the board's snapshot image.
 */
export const KEPT_COOKIE_PREFIX = 'tessera_kept_'
/**
 * Prefix of the cookie (`tessera_kept_image_<board id>=1`) by which the app page says it keeps that
 * board's image for its next page's first frame (client/sync/kept-image.ts, Cache Storage, answered
 * by the service worker): the relay's answer to that page preloads the image, so that it is asked
 * for with the page rather than when the head's script runs.
 */
export const KEPT_IMAGE_COOKIE_PREFIX = 'tessera_kept_image_'
/**
 * Same-origin URL path prefix of the kept board images, `/kept/<board id>.png`: answered by the
 * page's service worker from Cache Storage only (client/sync/kept-image.ts); the relay has no such URL.
 */
export const KEPT_IMAGE_PATH = '/kept/'
/** The URL of a board's kept image (relative to the page's origin). */
export const keptImageUrl = (boardId: string): string => `${KEPT_IMAGE_PATH}${boardId}.png`
/** Query parameter that carries the identity token (WebSocket and HTTP). */
export const TOKEN_PARAM = 'token'
/**
 * Query parameter by which a live=yjs reader asks for cursor frames (`cursors=1`): an empty Tiles
 * frame after its sync answer and after each commit's update, naming the last history seq its
 * document holds. The snapshotter records it in each snapshot's sidecar (`seq`).
 */
export const CURSORS_PARAM = 'cursors'
/** Query parameter by which a WebSocket client opts in to Presence and Session frames. */
export const TESSERA_PARAM = 'tessera'
/** Query parameter that picks how live changes reach a socket (LiveMode; default yjs). */
export const LIVE_PARAM = 'live'
/** Query parameter of a live=tiles socket resuming after the last history seq it holds. */
export const SINCE_PARAM = 'since'

/**
 * How a socket receives the board's changes after its first sync:
 * yjs: y-protocols update frames (any y-websocket provider; about 19 bytes per placement);
 * tiles: Tiles frames (4 bytes per placement, numbered by history seq, resumable with `since`)
 *   and Config frames; implies Tessera's frames (tessera=1). The socket never holds a live
 *   Y.Doc: it paints sync answers and Tiles frames onto a bitmap.
 */
export const LiveMode = { Yjs: 'yjs', Tiles: 'tiles' } as const
export type LiveMode = (typeof LiveMode)[keyof typeof LiveMode]

/**
 * Most tile writes a resume (`since`) is answered with from history; a client further behind
 * gets a full sync answer instead (about 4 bytes a write against a whole-board answer).
 */
export const MAX_RESUME_TILES = 250_000

/** Bytes of one tile value in a Tiles frame. */
export const TILE_VALUE_BYTES = 4

/**
 * A client-chosen placement id (Place frame's trailing field, HTTP `Idempotency-Key` header or
 * body `id`): 1 to 64 characters of the base64url alphabet. A retry of a placement carries the
 * id of its first attempt, and the relay answers it with the first attempt's outcome instead of
 * placing again (docs/PROTOCOL.md "Retrying a placement"). 16 random bytes (22 characters, see
 * newPlacementId) make a collision between one identity's ids negligible; ids are per identity.
 */
export const PLACEMENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/** Whether a value is a valid placement id (PLACEMENT_ID_PATTERN). */
export const isPlacementId = (id: unknown): id is string => typeof id === 'string' && PLACEMENT_ID_PATTERN.test(id)

/** The message of the `bad-request` refusal of a placement id reused for another tile or colour. */
export const PLACEMENT_ID_REUSED = 'the id was used for another placement'

/** HTTP request header that carries a placement id on POST /api/boards/<id>/place. */
export const IDEMPOTENCY_HEADER = 'idempotency-key'

/**
 * How long the relay remembers a placement id, and how many. A retry is recognised while its
 * id is remembered: for the board's cooldown plus retryWindowMs after the first attempt (a
 * retry later than that is judged as a new placement), across a relay restart for placements
 * (their ids are stored with their history records), and only in memory for refusals.
 */
export const PlacementIdLimits = {
  /** Milliseconds past the board's cooldown that a placement id is remembered (10 min). */
  retryWindowMs: 10 * 60_000,
  /** Ids remembered per identity and board: the newest (older ones are forgotten first). */
  perIdentity: 16,
  /** Ids remembered per board in all: the oldest are forgotten first (~200 bytes each). */
  perBoard: 100_000,
} as const

/**
 * A fresh placement id: 16 random bytes in base64url (22 characters). `random` fills a byte
 * array (crypto.getRandomValues in browsers and Node).
 */
export const newPlacementId = (random: (bytes: Uint8Array) => Uint8Array): string => {
  const bytes = random(new Uint8Array(16))
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  let out = ''
  // 16 bytes = 128 bits: 21 whole 6-bit digits and 2 bits left.
  let acc = 0
  let bits = 0
  for (const b of bytes) {
    acc = (acc << 8) | b
    bits += 8
    while (bits >= 6) {
      bits -= 6
      out += alphabet[(acc >> bits) & 63]
    }
    acc &= (1 << bits) - 1
  }
  if (bits > 0) out += alphabet[(acc << (6 - bits)) & 63]
  return out
}
