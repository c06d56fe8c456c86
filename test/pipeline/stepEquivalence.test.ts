import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { useBackend } from '../support/backend.js'
import { stepEquivalence } from '../support/stepEquivalence.js'

// The wasm backend runs the same suite in stepEquivalence.wasm.test.ts (one tfjs engine per process).
let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

it('runs on cpu (the engine this file is for)', () => {
  expect(backend.name).toBe('cpu')
  expect(tf.getBackend()).toBe('cpu')
})

stepEquivalence(() => backend)
