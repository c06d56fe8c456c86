import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Module } from '../src/pipeline/module.js'
import { key } from '../src/random/key.js'
import { disposeTree, type Params } from '../src/tree/tree.js'

// The README's TypeScript blocks are the files of examples/readme (type-checked with the rest of
// the project); this test keeps the two identical and runs every snippet.
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string)
const files = ['1-module', '2-optimizer', '3-fit', '4-test-a-step', '5-effects', '6-hooks', '7-custom-hook', '8-backends'].map((name) => join(root, 'examples', 'readme', `${name}.ts`))

const printed: string[] = []
beforeAll(() => {
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')))
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => (printed.push(String(chunk)), true))
})
afterAll(() => vi.restoreAllMocks())

describe('README snippets', () => {
  it('are exactly the files of examples/readme, in order', () => {
    expect(blocks).toEqual(files.map((f) => readFileSync(f, 'utf8')))
  })

  files.forEach((file, i) =>
    it(`snippet ${i + 1} runs`, async () => {
      printed.length = 0
      const exported = (await import(/* @vite-ignore */ file)) as Record<string, unknown>
      if (i === 0) {
        // the module snippet defines a classifier whose step gives a scalar loss on a batch of 4-feature rows
        const classifier = exported.classifier as Module<Params, Params, { x: tf.Tensor; y: tf.Tensor }>
        const model = classifier.init(key(0))
        const out = tf.tidy(() => {
          const o = classifier.trainingStep(model, { x: tf.ones([5, 4]), y: tf.tensor1d([0, 1, 2, 0, 1], 'int32') }, { stage: 'train', training: true, key: key(1), epoch: 0, batchIdx: 0, globalStep: 0 })
          return o.loss.arraySync() as number
        })
        expect(Number.isFinite(out) && out > 0).toBe(true)
        disposeTree(model)
      }
      // the optimizer snippet: the schedule peaks at 1e-3 after warm-up; the first step's rate is 0, so w stays
      if (i === 1) expect(printed).toEqual(['0.001 1,2 [object Object]'])
      if (i === 2) {
        // the regression snippet learns the line: kernel ≈ 3
        const kernel = printed.find((l) => l.startsWith('kernel'))
        expect(Number(kernel?.split(' ')[1])).toBeCloseTo(3, 1)
      }
      // fitStart, epochStart, 2 trainSteps, epochEnd, fitEnd, all at t = 1000
      if (i === 4) expect(printed).toContain('6 1')
      if (i === 6) expect(printed).toEqual(['stopRequested loss below 0.001 for 3 steps'])
      if (i === 7) expect(printed).toEqual(['true true'])
      if (i === 5) {
        expect(printed[0]).toBe('interrupted')
        expect(printed[1]).toMatch(/^stopRequested Monitored metric val\/acc did not improve/)
        expect(printed[2]).toBe('Right /export/blobs/group1-shard1of1.bin,/export/blobs/model.json')
      }
    }),
  )
})
