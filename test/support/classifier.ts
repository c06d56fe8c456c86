import type * as tf from '@tensorflow/tfjs-core'
import { fromArrays } from '../../src/data/arraySource.js'
import { metrics, nn, optim } from '../../src/index.js'
import { defineModule } from '../../src/pipeline/module.js'

/** The batches of `movingPartsClassifier`: 4 features, integer classes 0-2. */
export type ClassifierBatch = { x: tf.Tensor; y: tf.Tensor }

/**
 * A small classifier with every kind of moving part a step has: dropout (the step key), batch
 * norm (model state), a logged metric, Adam's state.
 */
export const movingPartsClassifier = (options: { readonly dropout: number; readonly lr: number }) => {
  const net = nn.sequential(nn.dense({ units: 8 }), nn.batchNorm(), nn.relu(), nn.dropout(options.dropout), nn.dense({ units: 3 }))
  return defineModule({
    init: (k) => net.init(k, [4]),
    trainingStep: (model, batch: ClassifierBatch, ctx) => {
      const out = net.apply(model, batch.x, ctx)
      const loss = nn.softmaxCrossEntropy(out.y, batch.y)
      return { loss, state: out.state, logs: { 'train/acc': metrics.accuracy(out.y, batch.y) } }
    },
    optimizer: optim.adam({ lr: options.lr }),
  })
}

/** `batches` batches of `batchSize` examples for `movingPartsClassifier` (shuffled each epoch). */
export const classifierSource = (batches: number, batchSize: number) => {
  const n = batches * batchSize
  return fromArrays(
    {
      x: { data: Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i)), shape: [4] },
      y: { data: Int32Array.from({ length: n }, (_, i) => i % 3), shape: [], dtype: 'int32' as const },
    },
    { batchSize, shuffle: true },
  )
}
