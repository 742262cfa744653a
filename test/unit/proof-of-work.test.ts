/** The proof of work's pure parts (shared/proof-of-work.ts) against node:crypto's SHA-256. */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { leadingZeroBits, meetsDifficulty, sha256, solve, solveRange } from '../../shared/proof-of-work.ts'
import { randomInts } from '../helpers/prng.ts'

const CHALLENGE = 'p1.12.mjx0abcd.AbCdEfGhIjKlMnOp.0123456789abcdefghij_-'

describe('sha256', () => {
  it('matches node:crypto for every length around the block and padding boundaries', () => {
    const rand = randomInts(7)
    for (let n = 0; n <= 200; n++) {
      const bytes = new Uint8Array(n).map(() => rand(256))
      expect(Buffer.from(sha256(bytes)).toString('hex'), `length ${n}`).toBe(createHash('sha256').update(bytes).digest('hex'))
    }
  })
})

describe('difficulty', () => {
  it('counts leading zero bits from the first byte', () => {
    expect(leadingZeroBits(new Uint8Array([0x80]))).toBe(0)
    expect(leadingZeroBits(new Uint8Array([0, 0x01]))).toBe(15)
    expect(leadingZeroBits(new Uint8Array([0, 0, 0, 0, 0x10]))).toBe(35)
    expect(leadingZeroBits(new Uint8Array(4))).toBe(32)
  })

  it('finds the first nonce whose hash meets the bits, as node:crypto counts them', () => {
    const bits = 12
    const nonce = solve(CHALLENGE, bits)
    const zeros = (n: string) => leadingZeroBits(createHash('sha256').update(`${CHALLENGE}:${n}`).digest())
    expect(zeros(nonce)).toBeGreaterThanOrEqual(bits)
    for (let n = 0; n < Number(nonce); n++) expect(zeros(String(n))).toBeLessThan(bits)
    expect(meetsDifficulty(CHALLENGE, nonce, bits)).toBe(true)
    expect(solveRange(CHALLENGE, bits, 0, Number(nonce))).toBeNull()
    expect(solveRange(CHALLENGE, bits, Number(nonce), Number(nonce) + 1)).toBe(nonce)
  })

  it('refuses nonces and challenges outside their alphabets, and any nonce meets 0 bits', () => {
    expect(meetsDifficulty(CHALLENGE, 'x', 0)).toBe(true)
    expect(meetsDifficulty(CHALLENGE, '', 0)).toBe(false)
    expect(meetsDifficulty(CHALLENGE, 'a b', 0)).toBe(false)
    expect(meetsDifficulty(CHALLENGE, 'x'.repeat(65), 0)).toBe(false)
    expect(meetsDifficulty('é', '1', 0)).toBe(false)
  })
})
