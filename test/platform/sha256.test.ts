/** The browser's SHA-256 (pure JavaScript) gives Node's digests, so checkpoints written in a page verify in Node and back. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sha256 as browserSha256 } from '../../src/effects/platform/browser/sha256.js'
import { sha256 as nodeSha256 } from '../../src/effects/platform/node/sha256.js'

describe('sha256 on both platforms', () => {
  it('matches the standard test vectors', () => {
    for (const f of [browserSha256, nodeSha256]) {
      expect(f('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
      expect(f('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    }
  })

  it('agrees on random bytes and strings (UTF-8 included)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 5000 }), (bytes) => browserSha256(bytes) === nodeSha256(bytes)))
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => browserSha256(text) === nodeSha256(text)))
  })
})
