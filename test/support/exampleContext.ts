import type * as tf from '@tensorflow/tfjs-core'
import type { Backend, BatchSource, FitEvent, Model, Module, Params, TrainState, TrainStepContext } from '../../src/index.js'

// The names the doc comments' @example blocks take as given, as a reader of an example would: a
// module to train, its data, a trained model, a backend. test/apiExamples.test.ts type-checks every
// example with these in scope (and every public export of 'rxtrain', tf, io-ts as t, fp-ts's Either
// as E and the common rxjs operators). Declarations only: nothing here runs.

/** The batch every example's module takes. */
export type Batch = { readonly x: tf.Tensor; readonly y: tf.Tensor }

export declare const module: Module<Params, Params, Batch>
export declare const train: BatchSource<Batch>
export declare const val: BatchSource<Batch>
export declare const model: Model<Params, Params>
export declare const backend: Backend
export declare const batch: Batch
export declare const batches: readonly Batch[]
export declare const state: TrainState<Params, Params>
export declare const ctx: TrainStepContext
export declare const events: readonly FitEvent[]
export declare const logits: tf.Tensor
export declare const labels: tf.Tensor
/** A tensor of inputs, and the same as plain numbers (a row of 784 pixels per example). */
export declare const x: tf.Tensor
export declare const images: Uint8Array
/** Digit labels, one per example. */
export declare const digits: Int32Array
export declare const params: Params
export declare const grads: Params
