import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { useBackend } from '../support/backend.js'
import { stepEquivalence } from '../support/stepEquivalence.js'

// The cpu backend runs the same suite in stepEquivalence.test.ts (one tfjs engine per process).
let backend: Backend
beforeAll(async () => {
  backend = await useBackend('wasm')
})

it('runs on wasm (the engine this file is for)', () => {
  expect(backend.name).toBe('wasm')
  expect(tf.getBackend()).toBe('wasm')
})

stepEquivalence(() => backend)
