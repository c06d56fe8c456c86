import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { LEAKY_RELU_SLOPE } from '../nn/activations.js'
import type { Layer, LayerConfig, Shape } from '../nn/layer.js'
import type { Padding } from '../nn/shapes.js'
import { showShape } from '../nn/shapes.js'
import type { Params } from '../tree/tree.js'

/**
 * The vocabulary of the Keras export (`kerasLayers.ts`): the JSON shapes it produces, what a
 * layer mapping sees (`Site`), and the checks every mapping uses (config fields, variables and
 * their shapes, supported activations), each failing with an error that names the layer.
 */

/** One layer of a Keras `Sequential` topology, in Keras' (snake_case) JSON form. */
export interface KerasLayerJson {
  readonly class_name: string
  readonly config: Readonly<Record<string, unknown>>
}

/** A weight to export: its Keras name (`layer/weight`) and the rxtrain tensor holding its value. */
export interface NamedWeight {
  readonly name: string
  readonly tensor: tf.Tensor
}

/** The Keras form of a run of rxtrain layers: the Keras layers, their weights, the output shape. */
export interface KerasLayers {
  readonly layers: readonly KerasLayerJson[]
  readonly weights: readonly NamedWeight[]
  readonly outputShape: Shape
}

/** What the mapping of one rxtrain layer sees. */
export interface Site {
  /** The Keras layer name: rxtrain's parameter-tree name (`dense0`), prefixed inside a nested sequential. */
  readonly name: string
  readonly layer: Layer
  readonly inputShape: Shape
  readonly params: Params
  readonly state: Params
}

/** rxtrain activation names → Keras activation identifiers (tfjs camel-cases them on load). */
export const KERAS_ACTIVATIONS: Readonly<Record<string, string>> = {
  linear: 'linear',
  relu: 'relu',
  elu: 'elu',
  gelu: 'gelu',
  silu: 'swish',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  softmax: 'softmax',
  logSoftmax: 'log_softmax',
}

/** `record[key]` for own keys only (a kind such as 'constructor' must not find Object's). */
export const own = <A>(record: Readonly<Record<string, A>>, key: string): A | undefined => (Object.hasOwn(record, key) ? record[key] : undefined)

export const unsupported = (site: Site, what: string, remedy: string) =>
  rxtrainError('ConfigError', `export to TensorFlow.js: layer ${site.name} (${site.layer.kind}) ${what}`, remedy, {
    layer: site.name,
    kind: site.layer.kind,
  })

export const configOf = (site: Site): LayerConfig => {
  if (site.layer.config === undefined)
    throw unsupported(
      site,
      'has no config, so its options cannot be written',
      "build the network from rxtrain's nn layers (their records carry a config), or replace this layer.",
    )
  return site.layer.config
}

export const field = <A>(site: Site, config: LayerConfig, name: string, ok: (u: unknown) => u is A): A => {
  const value = config[name]
  if (!ok(value)) throw unsupported(site, `has an invalid config field '${name}': ${JSON.stringify(value)}`, "build the layer with rxtrain's nn constructors.")
  return value
}
export const isNumber = (u: unknown): u is number => typeof u === 'number' && Number.isFinite(u)
export const isBoolean = (u: unknown): u is boolean => typeof u === 'boolean'
export const isString = (u: unknown): u is string => typeof u === 'string'
export const isPair = (u: unknown): u is readonly [number, number] => Array.isArray(u) && u.length === 2 && u.every(isNumber)
export const isPadding = (u: unknown): u is Padding => u === 'valid' || u === 'same'

/** The tensor at `what/key` of the layer, checked against the shape Keras will build. */
export const weight = (site: Site, what: 'params' | 'state', key: string, kerasName: string, shape: Shape): NamedWeight => {
  const tensor = (what === 'params' ? site.params : site.state)[key]
  const path = `${what}.${site.name}.${key}`
  if (!(tensor instanceof tf.Tensor))
    throw rxtrainError(
      'StructureError',
      `export to TensorFlow.js: ${path} is missing`,
      'pass the { params, state } returned by the same network (built for the same input shape).',
      { path },
    )
  if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i]))
    throw rxtrainError(
      'StructureError',
      `export to TensorFlow.js: ${path} has shape ${showShape(tensor.shape)}, expected ${showShape([...shape])} for input shape ${showShape([...site.inputShape])}`,
      'export with the input shape the network was initialised with, and its own { params, state }.',
      { path, actual: tensor.shape, expected: shape },
    )
  return { name: `${site.name}/${kerasName}`, tensor }
}

/** A layer without weights. */
export const only = (className: string, config: Record<string, unknown>, site: Site, outputShape: Shape): KerasLayers => ({
  layers: [{ class_name: className, config: { name: site.name, ...config } }],
  weights: [],
  outputShape,
})

/**
 * The Keras activation of a dense or conv2d layer, plus a separate layer for activations that
 * Keras layers cannot name (leaky ReLU).
 */
export const activationOf = (site: Site, config: LayerConfig): { readonly activation: string; readonly after: readonly KerasLayerJson[] } => {
  const name = field(site, config, 'activation', isString)
  if (name === 'leakyRelu')
    return {
      activation: 'linear',
      after: [{ class_name: 'LeakyReLU', config: { name: `${site.name}_activation`, alpha: LEAKY_RELU_SLOPE } }],
    }
  const keras = own(KERAS_ACTIVATIONS, name)
  if (keras === undefined) throw unsupportedActivation(site, name)
  return { activation: keras, after: [] }
}

export const unsupportedActivation = (site: Site, name: string) =>
  unsupported(
    site,
    `uses the activation '${name}', which TensorFlow.js layers cannot express`,
    name === 'geluTanh'
      ? "use the exact gelu (tfjs-layers 4.22 cannot load its tanh-approximate 'gelu_new' from JSON)."
      : `use one of ${[...Object.keys(KERAS_ACTIVATIONS), 'leakyRelu'].join(', ')} (by name, not as a function).`,
  )

export const expectRank = (site: Site, min: number, max: number): void => {
  const rank = site.inputShape.length + 1
  if (rank < min || rank > max)
    throw unsupported(
      site,
      `gets inputs of rank ${rank} (shape ${showShape(['batch', ...site.inputShape])}); TensorFlow.js supports it for ranks ${min} to ${max}`,
      'reshape the input to a supported rank before this layer.',
    )
}
