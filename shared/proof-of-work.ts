/**
 * Proof of work for new identities (docs/PROTOCOL.md, "Identity"): the relay hands out a signed
 * challenge and a difficulty `bits`; a client finds a nonce such that
 * SHA-256(challenge + ':' + nonce) starts with `bits` zero bits, and presents both when it asks
 * for an identity. A person pays it once (well under a second at the default); a script minting
 * hundreds of identities pays it hundreds of times.
 *
 * Pure: SHA-256 is implemented here (FIPS 180-4) rather than taken from Web Crypto, whose
 * digest() is asynchronous: an await per attempt costs far more than the hash itself, and a
 * solver makes ~2^bits attempts. Verified against node:crypto in test/unit/proof-of-work.test.ts.
 */

/** Round constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])
/** Initial hash value: the first 32 bits of the fractional parts of the square roots of the first 8 primes. */
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19] as const

// Scratch space, reused by every call (the module is single-threaded per realm).
const W = new Uint32Array(64)
const STATE = new Uint32Array(8)

/** One compression of the 64-byte block at `bytes[offset..offset+64)` into STATE. */
const compress = (bytes: Uint8Array, offset: number) => {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4
    W[i] = ((bytes[j] as number) << 24) | ((bytes[j + 1] as number) << 16) | ((bytes[j + 2] as number) << 8) | (bytes[j + 3] as number)
  }
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15] as number
    const w2 = W[i - 2] as number
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3)
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10)
    W[i] = ((W[i - 16] as number) + s0 + (W[i - 7] as number) + s1) | 0
  }
  let a = STATE[0] as number
  let b = STATE[1] as number
  let c = STATE[2] as number
  let d = STATE[3] as number
  let e = STATE[4] as number
  let f = STATE[5] as number
  let g = STATE[6] as number
  let h = STATE[7] as number
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
    const ch = (e & f) ^ (~e & g)
    const t1 = (h + S1 + ch + (K[i] as number) + (W[i] as number)) | 0
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
    const maj = (a & b) ^ (a & c) ^ (b & c)
    const t2 = (S0 + maj) | 0
    h = g
    g = f
    f = e
    e = (d + t1) | 0
    d = c
    c = b
    b = a
    a = (t1 + t2) | 0
  }
  STATE[0] = (STATE[0] as number) + a
  STATE[1] = (STATE[1] as number) + b
  STATE[2] = (STATE[2] as number) + c
  STATE[3] = (STATE[3] as number) + d
  STATE[4] = (STATE[4] as number) + e
  STATE[5] = (STATE[5] as number) + f
  STATE[6] = (STATE[6] as number) + g
  STATE[7] = (STATE[7] as number) + h
}

/** Padded message buffer, grown on demand. */
let padded = new Uint8Array(128)

/** Runs SHA-256 over `bytes[0..length)`, leaving the digest in STATE. */
const digestInto = (bytes: Uint8Array, length: number) => {
  const total = Math.ceil((length + 9) / 64) * 64
  if (padded.length < total) padded = new Uint8Array(total)
  padded.set(bytes.subarray(0, length))
  padded.fill(0, length, total)
  padded[length] = 0x80
  // Message length in bits, big-endian in the last 8 bytes (lengths here stay far below 2^32 bits).
  const bits = length * 8
  padded[total - 4] = bits >>> 24
  padded[total - 3] = (bits >>> 16) & 0xff
  padded[total - 2] = (bits >>> 8) & 0xff
  padded[total - 1] = bits & 0xff
  STATE.set(H0)
  for (let off = 0; off < total; off += 64) compress(padded, off)
}

/** SHA-256 of `bytes` (32 bytes). */
export const sha256 = (bytes: Uint8Array): Uint8Array => {
  digestInto(bytes, bytes.length)
  const out = new Uint8Array(32)
  for (let i = 0; i < 8; i++) {
    const v = STATE[i] as number
    out[i * 4] = v >>> 24
    out[i * 4 + 1] = (v >>> 16) & 0xff
    out[i * 4 + 2] = (v >>> 8) & 0xff
    out[i * 4 + 3] = v & 0xff
  }
  return out
}

/** Leading zero bits of the digest in STATE (0..256). */
const stateLeadingZeros = (): number => {
  for (let i = 0; i < 8; i++) {
    const v = STATE[i] as number
    if (v !== 0) return i * 32 + Math.clz32(v)
  }
  return 256
}

/** Leading zero bits of a byte string, most significant bit of the first byte first. */
export const leadingZeroBits = (bytes: Uint8Array): number => {
  for (let i = 0; i < bytes.length; i++) {
    const v = bytes[i] as number
    if (v !== 0) return i * 8 + Math.clz32(v) - 24
  }
  return bytes.length * 8
}

/**
 * Nonces: 1 to 64 characters of base64url's alphabet. A solver may use any; Tessera's counts in
 * decimal. Challenges use the same alphabet plus '.', so the hashed text is ASCII.
 */
export const NONCE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/
/** Challenges as the relay issues them (see relay/session-pow.ts); longer ones are refused unread. */
export const CHALLENGE_PATTERN = /^[A-Za-z0-9_.-]{1,200}$/
/** Largest difficulty a relay may ask for: 2^32 attempts on average would take a browser an hour. */
export const MAX_POW_BITS = 32

/** ASCII bytes of `text` into `out` from `offset`; returns the end offset. Callers check the alphabet. */
const writeAscii = (text: string, out: Uint8Array, offset: number): number => {
  for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i)
  return offset + text.length
}

/** Whether SHA-256(challenge + ':' + nonce) starts with at least `bits` zero bits. */
export const meetsDifficulty = (challenge: string, nonce: string, bits: number): boolean => {
  if (!CHALLENGE_PATTERN.test(challenge) || !NONCE_PATTERN.test(nonce)) return false
  const bytes = new Uint8Array(challenge.length + 1 + nonce.length)
  const end = writeAscii(nonce, bytes, writeAscii(':', bytes, writeAscii(challenge, bytes, 0)))
  digestInto(bytes, end)
  return stateLeadingZeros() >= bits
}

/**
 * Tries the decimal nonces from, from + 1, … below `to`; returns the first that meets the
 * difficulty, or null. A solver calls it in slices so that a page stays responsive between them.
 * Each attempt costs about two SHA-256 compressions (challenges are ~80 characters).
 */
export const solveRange = (challenge: string, bits: number, from: number, to: number): string | null => {
  if (!CHALLENGE_PATTERN.test(challenge)) throw new Error('solveRange: not a challenge')
  // challenge ':' then up to 16 decimal digits (nonces stay below 2^53).
  const bytes = new Uint8Array(challenge.length + 1 + 16)
  const prefix = writeAscii(':', bytes, writeAscii(challenge, bytes, 0))
  for (let n = from; n < to; n++) {
    const nonce = String(n)
    digestInto(bytes, writeAscii(nonce, bytes, prefix))
    if (stateLeadingZeros() >= bits) return nonce
  }
  return null
}

/** Solves a challenge in one go (tests, bots, Node). A browser should call solveRange in slices. */
export const solve = (challenge: string, bits: number): string => {
  for (let from = 0; ; from += 1 << 20) {
    const nonce = solveRange(challenge, bits, from, from + (1 << 20))
    if (nonce !== null) return nonce
  }
}
