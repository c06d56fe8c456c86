import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { type Initializer, normalInit } from './init.js'
import { type Empty, type Layer, empty } from './layer.js'

/**
 * Options of `embedding`.
 *
 * @example
 * const options: nn.EmbeddingOptions = { vocabSize: 10000, dim: 64 }
 * nn.embedding(options)
 */
export interface EmbeddingOptions {
  /** Number of distinct ids; valid ids are 0 … vocabSize − 1. */
  readonly vocabSize: number
  /** Length of each embedding vector. */
  readonly dim: number
  /** Table initialiser (default `normalInit(1)`, i.e. N(0, 1) as PyTorch; Keras uses U(−0.05, 0.05)). */
  readonly init?: Initializer
}

/**
 * Variables of `embedding`: the lookup `table` [vocabSize, dim].
 *
 * @example
 * const { params } = nn.embedding({ vocabSize: 10000, dim: 64 }).init(key(0), [20])
 * const { table }: nn.EmbeddingParams = params   // [10000, 64]
 */
export type EmbeddingParams = { readonly table: tf.Tensor }

/**
 * A lookup table: int32 ids of any shape `[batch, ...]` map to their rows, `[batch, ..., dim]`
 * (`tf.gather` on axis 0). Ids outside [0, vocabSize) are not checked here (that would need a
 * device read-back every step): the cpu backend throws on them, other backends may return zeros.
 *
 * Training note: the gradient of `gather` uses the `UnsortedSegmentSum` kernel; tfjs-backend-wasm
 * lacks it, and rxtrain's wasm backend runs the cpu implementation for it (src/backends/wasmKernels.ts).
 *
 * @example
 * const emb = nn.embedding({ vocabSize: 10000, dim: 64 })
 * emb.init(key(0), [20]).outputShape // [20, 64] (ids [batch, 20] → [batch, 20, 64])
 */
export const embedding = (options: EmbeddingOptions): Layer<EmbeddingParams, Empty> => {
  const { vocabSize, dim, init = normalInit(1) } = options
  if (![vocabSize, dim].every((v) => Number.isInteger(v) && v > 0))
    throw rxtrainError(
      'ConfigError',
      `embedding: vocabSize and dim must be positive integers, got vocabSize ${vocabSize}, dim ${dim}`,
      'pass e.g. embedding({ vocabSize: 10000, dim: 64 }).',
      { vocabSize, dim },
    )
  return {
    kind: 'embedding',
    config: { vocabSize, dim },
    init: (k, inputShape) => ({ params: { table: init(k, [vocabSize, dim]) }, state: empty, outputShape: [...inputShape, dim] }),
    apply: ({ params, state }, ids, _ctx) => {
      if (ids.dtype !== 'int32')
        throw rxtrainError(
          'DataError',
          `embedding expects int32 ids, got a ${ids.dtype} tensor of shape [${ids.shape.join(', ')}]`,
          "build the ids with tf.tensor(ids, shape, 'int32') or tf.cast(ids, 'int32').",
          { layer: 'embedding', dtype: ids.dtype, actual: ids.shape },
        )
      return { y: tf.gather(params.table, ids), state }
    },
  }
}
