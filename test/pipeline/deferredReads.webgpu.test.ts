import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, tap } from 'rxjs'
import { afterAll, describe, expect, it } from 'vitest'
import { startBackend } from '../../src/backends/accelerator.js'
import type { Backend } from '../../src/backends/backend.js'
import { countWebGpu } from '../../src/backends/webgpuCounters.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { classifierSource, movingPartsClassifier } from '../support/classifier.js'
import { quiet } from '../support/backend.js'

// On webgpu itself (Mesa llvmpipe on a CPU box): a step that logs nothing is queued without a read.
const started = process.env.RXTRAIN_SKIP_WEBGPU === '1' ? undefined : await startBackend('webgpu')()
const webgpu: Backend | undefined = started !== undefined && E.isRight(started) ? started.right : undefined

describe.skipIf(webgpu === undefined)('deferred reads on webgpu (skipped where webgpu does not initialise)', () => {
  afterAll(() => {
    void tf.setBackend('cpu')
  })

  it('a tiny MLP with logEveryNSteps beyond the run: no read on any step but the last, no tensor left', async () => {
    const inner = webgpu as Backend
    let reads = 0
    const backend: Backend = {
      ...inner,
      readScalarsAsync: (scalars) => {
        reads++
        return inner.readScalarsAsync(scalars)
      },
      read: (t) => {
        reads++
        return inner.read(t)
      },
    }
    backend.activate()
    const before = tf.memory().numTensors
    const readsAt: number[] = []
    // And on the tfjs webgpu backend object itself: its awaited buffer reads.
    const counter = countWebGpu()
    const deviceReadsAt: number[] = []
    const events: FitEvent[] = []
    await lastValueFrom(
      fit(movingPartsClassifier({ dropout: 0.5, lr: 0.01 }), { train: classifierSource(6, 8) }, { maxEpochs: 1, logEveryNSteps: 100 }, { backend, signals: quiet }).pipe(
        tap((e: FitEvent) => {
          events.push(e)
          if (e.type === 'trainStep') {
            readsAt.push(reads)
            deviceReadsAt.push(counter.counts().reads)
          }
        }),
      ),
    ).finally(() => counter.stop())
    expect(tf.memory().numTensors).toBe(before)
    // Steps 1 to 5 are queued without a read; step 6 ends the epoch and reads all six losses at once.
    expect(readsAt).toEqual([0, 0, 0, 0, 0, 1])
    expect(deviceReadsAt).toEqual([0, 0, 0, 0, 0, 1])
    const steps = events.flatMap((e) => (e.type === 'trainStep' ? [e] : []))
    expect(steps.map((e) => e.valuesRead)).toEqual([false, false, false, false, false, true])
    expect(Number.isFinite(steps.at(-1)?.loss)).toBe(true)
  })
})
