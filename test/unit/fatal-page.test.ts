import { describe, expect, it } from 'vitest'
import { sentence } from '../../client/ui/fatal-page.ts'

describe('sentence', () => {
  it('makes a relay message a sentence: capital first, full stop last, once', () => {
    expect(sentence('the relay cannot be reached')).toBe('The relay cannot be reached.')
    expect(sentence('  Retrying… ')).toBe('Retrying…')
    expect(sentence('it stopped!')).toBe('It stopped!')
    expect(sentence('')).toBe('')
  })
})
