import type * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import { encodeHalf } from '../backends/halfFloat.js'
import { type RxtrainError, isRxtrainError, messageOf, rxtrainError } from '../errors/rxtrainError.js'
import type { Model, Shape } from '../nn/layer.js'
import type { SequentialLayer } from '../nn/sequential.js'
import { showShape } from '../nn/shapes.js'
import { type KerasLayerJson, kerasLayersOf } from './kerasLayers.js'

/**
 * The TensorFlow.js LayersModel format of a trained `sequential`: the Keras topology
 * (`modelTopology`), the weight specs and one concatenated little-endian weight buffer, i.e.
 * what `tf.loadLayersModel` reads from `model.json` + `group1-shard1of1.bin` (and what the
 * tensorflowjs converter turns into a Keras model). Pure apart from reading tensor values.
 */

/** What `model.json` says produced it, and the Keras version its topology follows. */
export const GENERATED_BY = 'rxtrain'
export const KERAS_VERSION = 'tfjs-layers 4.22.0'

/** A Keras `Sequential` topology in JSON form (snake_case keys, as Keras writes it). */
export interface LayersModelTopology {
  readonly class_name: 'Sequential'
  readonly config: { readonly name: string; readonly layers: readonly KerasLayerJson[] }
  readonly keras_version: string
  readonly backend: string
}

/** One weight of the manifest (a `tf.io.WeightsManifestEntry`): `dense0/kernel`, [784, 128], float32. */
export interface WeightSpec {
  readonly name: string
  readonly shape: number[]
  readonly dtype: 'float32'
  /** Present when the weight is stored as float16 codes (tfjs dequantizes them on load). */
  readonly quantization?: { readonly dtype: 'float16' }
}

/** The topology and weight specs, with the (borrowed) tensors whose values fill the weight buffer. */
export interface LayersModelPlan {
  readonly modelTopology: LayersModelTopology
  readonly weightSpecs: readonly WeightSpec[]
  /** The model's own tensors in the order of `weightSpecs`: borrowed, never disposed here. */
  readonly tensors: readonly tf.Tensor[]
}

/** In-memory LayersModel artifacts; a `tf.io.ModelArtifacts` (so `tf.io.fromMemory(artifacts)` loads them). */
export interface LayersModelArtifacts {
  readonly format: 'layers-model'
  readonly generatedBy: string
  readonly convertedBy: null
  readonly modelTopology: LayersModelTopology
  readonly weightSpecs: WeightSpec[]
  /** Every weight's values (float32, or float16 codes when quantized), in `weightSpecs` order, concatenated. */
  readonly weightData: ArrayBuffer
}

/** The contents of `model.json` (a `tf.io.ModelJSON`). */
export interface LayersModelJson {
  readonly format: 'layers-model'
  readonly generatedBy: string
  readonly convertedBy: null
  readonly modelTopology: LayersModelTopology
  readonly weightsManifest: { readonly paths: string[]; readonly weights: WeightSpec[] }[]
}

/** Options of the export. */
export interface LayersModelOptions {
  /** The Keras model name (default `'sequential'`). */
  readonly name?: string
  /**
   * `'float16'` stores the weights as IEEE half-precision codes with tfjs's float16 weight
   * quantization (half the bytes; `tf.loadLayersModel` turns them back into float32, each value
   * rounded to float16). Default `'float32'`.
   */
  readonly weightDtype?: 'float32' | 'float16'
}

const NAME = /^[A-Za-z0-9][-A-Za-z0-9._]*$/

const checkInputs = (inputShape: Shape, name: string): void => {
  if (!inputShape.every((d) => Number.isInteger(d) && d > 0))
    throw rxtrainError(
      'ConfigError',
      `export to TensorFlow.js: input shape ${showShape([...inputShape])} must list positive integers`,
      'pass the feature shape the network was initialised with, without the batch dimension (e.g. [28, 28, 1]).',
      { inputShape },
    )
  if (!NAME.test(name))
    throw rxtrainError(
      'ConfigError',
      `export to TensorFlow.js: model name '${name}' is not a valid Keras name`,
      'use letters, digits, and - . _ (starting with a letter or digit), e.g. name: "mnist_mlp".',
      { name },
    )
}

const plan = (net: SequentialLayer, inputShape: Shape, model: Model, options: LayersModelOptions): LayersModelPlan => {
  const name = options.name ?? 'sequential'
  checkInputs(inputShape, name)
  const { layers, weights } = kerasLayersOf(net, inputShape, model.params, model.state)
  const [first, ...rest] = layers
  if (first === undefined)
    throw rxtrainError('ConfigError', 'export to TensorFlow.js: the sequential has no layers', 'add at least one layer before exporting.', {})
  const notFloat = weights.find((w) => w.tensor.dtype !== 'float32')
  if (notFloat !== undefined)
    throw rxtrainError(
      'StructureError',
      `export to TensorFlow.js: weight ${notFloat.name} is ${notFloat.tensor.dtype}, expected float32`,
      'cast the variable to float32 (tf.cast) before exporting.',
      { weight: notFloat.name, dtype: notFloat.tensor.dtype },
    )
  const input = { ...first, config: { ...first.config, batch_input_shape: [null, ...inputShape], dtype: 'float32' } }
  return {
    modelTopology: { class_name: 'Sequential', config: { name, layers: [input, ...rest] }, keras_version: KERAS_VERSION, backend: 'tensor_flow.js' },
    weightSpecs: weights.map((w) => ({
      name: w.name,
      shape: [...w.tensor.shape],
      dtype: 'float32',
      ...(options.weightDtype === 'float16' && { quantization: { dtype: 'float16' as const } }),
    })),
    tensors: weights.map((w) => w.tensor),
  }
}

/**
 * The Keras topology and weight specs of `net` for `inputShape` (batch excluded) with the
 * variables `model`, or a `ConfigError` naming the first layer TensorFlow.js cannot express
 * (custom layers, activation functions, the tanh GELU, ...) or a `StructureError` for a missing
 * or misshapen variable. Reads no tensor values and allocates no tensors.
 *
 * Layers keep rxtrain's names (`dense0`, weights `dense0/kernel`); a dense or conv2d layer with a
 * leaky-ReLU activation becomes the linear layer followed by `LeakyReLU` (`dense0_activation`).
 */
export const layersModelPlan = (
  net: SequentialLayer,
  inputShape: Shape,
  model: Model,
  options: LayersModelOptions = {},
): E.Either<RxtrainError, LayersModelPlan> => {
  try {
    return E.right(plan(net, inputShape, model, options))
  } catch (e) {
    if (isRxtrainError(e)) return E.left(e)
    throw e
  }
}

/** Reads the tensors (asynchronously, so any backend works) into one buffer, in order. */
const readWeights = (specs: readonly WeightSpec[], tensors: readonly tf.Tensor[]): TE.TaskEither<RxtrainError, ArrayBuffer> =>
  TE.tryCatch(
    async () => {
      const values = await Promise.all(tensors.map((t) => t.data<'float32'>()))
      const half = specs[0]?.quantization?.dtype === 'float16'
      const out = half ? new Uint16Array(values.reduce((n, v) => n + v.length, 0)) : new Float32Array(values.reduce((n, v) => n + v.length, 0))
      let offset = 0
      for (const v of values) {
        out.set(half ? encodeHalf(v, 'float16') : v, offset)
        offset += v.length
      }
      return out.buffer as ArrayBuffer
    },
    (cause) =>
      rxtrainError(
        'StructureError',
        `export to TensorFlow.js: could not read the weights (${specs.map((s) => s.name).join(', ')}): ${messageOf(cause)}`,
        "keep the model's tensors alive (undisposed) until the export has finished.",
        {},
      ),
  )

/**
 * The LayersModel artifacts of `net` with the variables `model`: `layersModelPlan` plus the
 * weight values. The task reads the tensors when run; they must stay alive until it finishes.
 *
 * @example
 * const artifacts = await layersModelArtifacts(net, [784], model)()
 * if (E.isRight(artifacts)) await tf.loadLayersModel(tf.io.fromMemory(artifacts.right))
 */
export const layersModelArtifacts = (
  net: SequentialLayer,
  inputShape: Shape,
  model: Model,
  options: LayersModelOptions = {},
): TE.TaskEither<RxtrainError, LayersModelArtifacts> =>
  pipe(
    TE.fromEither(layersModelPlan(net, inputShape, model, options)),
    TE.chain((p) =>
      pipe(
        readWeights(p.weightSpecs, p.tensors),
        TE.map(
          (weightData): LayersModelArtifacts => ({
            format: 'layers-model',
            generatedBy: GENERATED_BY,
            convertedBy: null,
            modelTopology: p.modelTopology,
            weightSpecs: [...p.weightSpecs],
            weightData,
          }),
        ),
      ),
    ),
  )

/** The `model.json` of some artifacts whose weight buffer is stored at `weightsPaths` (relative to model.json). */
export const layersModelJson = (artifacts: LayersModelArtifacts, weightsPaths: readonly string[]): LayersModelJson => ({
  format: artifacts.format,
  generatedBy: artifacts.generatedBy,
  convertedBy: artifacts.convertedBy,
  modelTopology: artifacts.modelTopology,
  weightsManifest: [{ paths: [...weightsPaths], weights: artifacts.weightSpecs }],
})
