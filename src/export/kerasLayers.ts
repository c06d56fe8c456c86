import * as tf from '@tensorflow/tfjs-core'
import { LEAKY_RELU_SLOPE } from '../nn/activations.js'
import type { Layer, Shape } from '../nn/layer.js'
import { type SequentialLayer, layerName } from '../nn/sequential.js'
import { showShape, sizeOf, windowOutputShape } from '../nn/shapes.js'
import type { Params } from '../tree/tree.js'
import {
  KERAS_ACTIVATIONS,
  type KerasLayerJson,
  type KerasLayers,
  type NamedWeight,
  type Site,
  activationOf,
  configOf,
  expectRank,
  field,
  isBoolean,
  isNumber,
  isPadding,
  isPair,
  isString,
  only,
  own,
  unsupported,
  unsupportedActivation,
  weight,
} from './kerasSite.js'

export type { KerasLayerJson, KerasLayers, NamedWeight } from './kerasSite.js'

/**
 * How each rxtrain layer becomes one or more Keras/TensorFlow.js layers (the classes and config
 * keys that tfjs-layers 4.22 deserialises). Pure: reads layer configs, shapes and tensor
 * handles, never tensor values.
 */

const dense = (site: Site): KerasLayers => {
  const config = configOf(site)
  const units = field(site, config, 'units', isNumber)
  const useBias = field(site, config, 'useBias', isBoolean)
  const inFeatures = site.inputShape.at(-1) ?? 0
  const { activation, after } = activationOf(site, config)
  return {
    layers: [{ class_name: 'Dense', config: { name: site.name, units, activation, use_bias: useBias } }, ...after],
    weights: [
      weight(site, 'params', 'kernel', 'kernel', [inFeatures, units]),
      ...(useBias ? [weight(site, 'params', 'bias', 'bias', [units])] : []),
    ],
    outputShape: [...site.inputShape.slice(0, -1), units],
  }
}

const hwcOf = (site: Site): readonly [number, number, number] => {
  expectRank(site, 4, 4)
  return site.inputShape as readonly [number, number, number]
}

const conv2d = (site: Site): KerasLayers => {
  const config = configOf(site)
  const filters = field(site, config, 'filters', isNumber)
  const kernelSize = field(site, config, 'kernelSize', isPair)
  const strides = field(site, config, 'strides', isPair)
  const dilation = field(site, config, 'dilation', isPair)
  const padding = field(site, config, 'padding', isPadding)
  const useBias = field(site, config, 'useBias', isBoolean)
  if (dilation.some((d) => d > 1) && strides.some((s) => s > 1))
    throw unsupported(
      site,
      `combines dilation ${dilation.join('x')} with strides ${strides.join('x')}, which Keras and TensorFlow.js reject`,
      'use strides 1 with dilation, and downsample with a pooling layer.',
    )
  const hwc = hwcOf(site)
  const { activation, after } = activationOf(site, config)
  const [h, w] = windowOutputShape(site.name, hwc, kernelSize, strides, dilation, padding)
  const layer = {
    name: site.name,
    filters,
    kernel_size: [...kernelSize],
    strides: [...strides],
    padding,
    data_format: 'channels_last',
    dilation_rate: [...dilation],
    activation,
    use_bias: useBias,
  }
  return {
    layers: [{ class_name: 'Conv2D', config: layer }, ...after],
    weights: [
      weight(site, 'params', 'kernel', 'kernel', [kernelSize[0], kernelSize[1], hwc[2], filters]),
      ...(useBias ? [weight(site, 'params', 'bias', 'bias', [filters])] : []),
    ],
    outputShape: [h, w, filters],
  }
}

const pool2d = (className: string) => (site: Site): KerasLayers => {
  const config = configOf(site)
  const poolSize = field(site, config, 'poolSize', isPair)
  const strides = field(site, config, 'strides', isPair)
  const padding = field(site, config, 'padding', isPadding)
  const hwc = hwcOf(site)
  const [h, w] = windowOutputShape(site.name, hwc, poolSize, strides, [1, 1], padding)
  const keras = { pool_size: [...poolSize], strides: [...strides], padding, data_format: 'channels_last' }
  return only(className, keras, site, [h, w, hwc[2]])
}

const globalAvgPool2d = (site: Site): KerasLayers => only('GlobalAveragePooling2D', { data_format: 'channels_last' }, site, [hwcOf(site)[2]])

/** Keras' Flatten needs rank ≥ 3; on [batch, n] rxtrain's flatten is the identity, a Reshape here. */
const flatten = (site: Site): KerasLayers => {
  const size = sizeOf(site.inputShape)
  return site.inputShape.length >= 2
    ? only('Flatten', {}, site, [size])
    : only('Reshape', { target_shape: [size] }, site, [size])
}

const dropout = (site: Site): KerasLayers => only('Dropout', { rate: field(site, configOf(site), 'rate', isNumber) }, site, site.inputShape)

const batchNorm = (site: Site): KerasLayers => {
  const config = configOf(site)
  const momentum = field(site, config, 'momentum', isNumber)
  const eps = field(site, config, 'eps', isNumber)
  const axis = field(site, config, 'axis', isNumber)
  expectRank(site, 2, 4)
  const rank = site.inputShape.length + 1
  const a = axis < 0 ? rank + axis : axis
  const channels = a >= 1 && a < rank ? site.inputShape[a - 1] : undefined
  if (channels === undefined) throw unsupported(site, `has axis ${axis}, outside the input ${showShape(['batch', ...site.inputShape])}`, 'initialise and export with the same input shape.')
  // tfjs' batchNorm kernels (cpu, wasm) broadcast the statistics over the last axis only, so a
  // tfjs-layers BatchNormalization on another axis loads but normalises the wrong values.
  if (a !== rank - 1)
    throw unsupported(
      site,
      `normalises axis ${axis} of ${showShape(['batch', ...site.inputShape])}, not the last one, which TensorFlow.js' BatchNormalization computes wrongly`,
      'put the channels last (NHWC, the default axis −1) before exporting.',
    )
  return {
    // Keras' momentum weighs the old running value; rxtrain's (PyTorch's) weighs the new batch.
    layers: [{ class_name: 'BatchNormalization', config: { name: site.name, axis, momentum: 1 - momentum, epsilon: eps, center: true, scale: true } }],
    weights: [
      weight(site, 'params', 'gamma', 'gamma', [channels]),
      weight(site, 'params', 'beta', 'beta', [channels]),
      weight(site, 'state', 'runningMean', 'moving_mean', [channels]),
      weight(site, 'state', 'runningVar', 'moving_variance', [channels]),
    ],
    outputShape: site.inputShape,
  }
}

const layerNorm = (site: Site): KerasLayers => {
  const eps = field(site, configOf(site), 'eps', isNumber)
  expectRank(site, 2, 4)
  const features = site.inputShape.at(-1) ?? 0
  return {
    layers: [{ class_name: 'LayerNormalization', config: { name: site.name, axis: -1, epsilon: eps, center: true, scale: true } }],
    weights: [weight(site, 'params', 'gamma', 'gamma', [features]), weight(site, 'params', 'beta', 'beta', [features])],
    outputShape: site.inputShape,
  }
}

const embedding = (site: Site): KerasLayers => {
  const config = configOf(site)
  const vocabSize = field(site, config, 'vocabSize', isNumber)
  const dim = field(site, config, 'dim', isNumber)
  return {
    layers: [{ class_name: 'Embedding', config: { name: site.name, input_dim: vocabSize, output_dim: dim, mask_zero: false } }],
    weights: [weight(site, 'params', 'table', 'embeddings', [vocabSize, dim])],
    outputShape: [...site.inputShape, dim],
  }
}

/** An activation layer (`relu()`, `gelu()`, `leakyRelu(0.2)`, ...), whose kind is its activation's name. */
const activationLayer = (site: Site): KerasLayers => {
  const config = configOf(site)
  const name = field(site, config, 'activation', isString)
  if (name === 'leakyRelu') {
    const alpha = config['alpha'] === undefined ? LEAKY_RELU_SLOPE : field(site, config, 'alpha', isNumber)
    return only('LeakyReLU', { alpha }, site, site.inputShape)
  }
  const keras = own(KERAS_ACTIVATIONS, name)
  if (keras === undefined) throw unsupportedActivation(site, name)
  return only('Activation', { activation: keras }, site, site.inputShape)
}

const isSequential = (layer: Layer): layer is SequentialLayer =>
  layer.kind === 'sequential' && Array.isArray((layer as { readonly layers?: unknown }).layers)

const subtree = (tree: Params, name: string): Params => {
  const value = tree[name]
  return value === undefined || value instanceof tf.Tensor ? {} : value
}

const MAPPINGS: Readonly<Record<string, (site: Site) => KerasLayers>> = {
  dense,
  conv2d,
  maxPool2d: pool2d('MaxPooling2D'),
  avgPool2d: pool2d('AveragePooling2D'),
  globalAvgPool2d,
  flatten,
  dropout,
  batchNorm,
  layerNorm,
  embedding,
  ...Object.fromEntries([...Object.keys(KERAS_ACTIVATIONS), 'leakyRelu', 'geluTanh'].map((k) => [k, activationLayer])),
}

/** The supported layer kinds (a nested `sequential` is flattened into its parent). */
export const exportableKinds: readonly string[] = [...Object.keys(MAPPINGS), 'sequential']

/**
 * Maps the layers of a `sequential` (recursively: a nested `sequential` contributes its layers
 * with names prefixed by its own, `sequential2_dense0`) to Keras layers and weights, inferring
 * shapes from `inputShape`. Throws a `ConfigError` naming the layer for anything TensorFlow.js
 * layers cannot express, and a `StructureError` for a missing or misshapen variable.
 */
export const kerasLayersOf = (net: SequentialLayer, inputShape: Shape, params: Params, state: Params, prefix = ''): KerasLayers => {
  const layers: KerasLayerJson[] = []
  const weights: NamedWeight[] = []
  let shape = inputShape
  net.layers.forEach((layer, i) => {
    const local = layerName(layer, i)
    const site: Site = { name: `${prefix}${local}`, layer, inputShape: shape, params: subtree(params, local), state: subtree(state, local) }
    const mapped = isSequential(layer) ? kerasLayersOf(layer, shape, site.params, site.state, `${site.name}_`) : mappingOf(site)(site)
    layers.push(...mapped.layers)
    weights.push(...mapped.weights)
    shape = mapped.outputShape
  })
  return { layers, weights, outputShape: shape }
}

const mappingOf = (site: Site): ((site: Site) => KerasLayers) => {
  const mapping = own(MAPPINGS, site.layer.kind)
  if (mapping === undefined)
    throw unsupported(
      site,
      'has no TensorFlow.js layers counterpart',
      `export networks built from ${exportableKinds.join(', ')}; a custom layer has to be replaced before export.`,
    )
  return mapping
}
