import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { describe, expect, it } from 'vitest'
import '@tensorflow/tfjs-backend-cpu'
import '../../src/backends/gradients.js'
import { gradientsModuleSource } from '../../scripts/gradientsModuleSource.js'

// rxtrain registers tfjs's gradients and chained methods from its own bundle of tfjs-core's
// definitions instead of loading the @tensorflow/tfjs umbrella (this file imports neither it nor
// any package that registers them).
const require = createRequire(import.meta.url)
const corePackage = require.resolve('@tensorflow/tfjs-core/package.json')
const { version } = JSON.parse(readFileSync(corePackage, 'utf8')) as { version: string }

describe("rxtrain's bundle of tfjs-core's gradients", () => {
  it('is current: `npm run build:gradients` would write the committed file unchanged', async () => {
    const committed = readFileSync(new URL('../../src/backends/tfjsGradients.generated.ts', import.meta.url), 'utf8')
    expect(committed === (await gradientsModuleSource(version))).toBe(true)
  })

  it('registers a gradient for every kernel that tfjs-core defines one for', () => {
    const files = readdirSync(join(dirname(corePackage), 'dist', 'gradients')).filter((f) => f.endsWith('_grad.js'))
    expect(files.length).toBeGreaterThan(90)
    const missing = files.map((f) => f.replace(/_grad\.js$/, '')).filter((kernel) => tf.getGradient(kernel) === undefined)
    expect(missing).toEqual([])
  })

  it('differentiates through the main tfjs-core (one engine, one Tensor class)', async () => {
    await tf.setBackend('cpu')
    const f = (x: tf.Tensor) => tf.sum(tf.relu(tf.mul(x, x)))
    const g = tf.grad(f)(tf.tensor1d([-1, 2, 3]))
    expect(Array.from(g.dataSync())).toEqual([-2, 4, 6]) // d/dx relu(x²) = 2x where x² > 0
    expect(g instanceof tf.Tensor).toBe(true)
  })

  it('adds the chained tensor methods (x.add(y)) that tfjs-core alone does not', () => {
    const x = tf.tensor1d([1, 2]) as tf.Tensor & { add?: unknown }
    expect(typeof x.add).toBe('function')
  })
})
