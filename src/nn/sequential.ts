import * as tf from '@tensorflow/tfjs-core'
import { rxtrainError } from '../errors/rxtrainError.js'
import { type Key, foldIn } from '../random/key.js'
import type { Params } from '../tree/tree.js'
import { type Layer, type Shape, empty } from './layer.js'

/**
 * A `sequential` layer: a `Layer` that also lists the layers it chains (for `summarize`).
 *
 * @example
 * const net: nn.SequentialLayer = nn.sequential(nn.flatten(), nn.dense({ units: 10 }))
 * net.layers.map((layer) => layer.kind) // ['flatten', 'dense']
 */
export interface SequentialLayer extends Layer<Params, Params> {
  readonly layers: readonly Layer[]
}

/**
 * The name of the layer at `index` in a `sequential`: its kind followed by its position,
 * e.g. `dense0`, `relu1`, `dense2`. Parameter paths start with it (`dense0/kernel`).
 */
export const layerName = (layer: Layer, index: number): string => `${layer.kind}${index}`

/** The key a `sequential` gives the layer at `index`, for both `init` and `apply`: `foldIn(k, index)`. */
export const layerKey = (k: Key, index: number): Key => foldIn(k, index)

const isEmptyTree = (tree: Params): boolean => Object.keys(tree).length === 0

/** The subtree of `tree` named `name` (the empty tree when absent). */
const subtree = (tree: Params, name: string, what: 'params' | 'state'): Params => {
  const value = tree[name]
  if (value === undefined) return empty
  if (value instanceof tf.Tensor)
    throw rxtrainError(
      'StructureError',
      `sequential: ${what} entry '${name}' is a tensor, expected the record of that layer's ${what}`,
      `pass the ${what} tree returned by the same sequential's init (keys like 'dense0', each a record).`,
      { name },
    )
  return value
}

/**
 * Chains layers: each one's output is the next one's input, and shapes are inferred layer to
 * layer from the input shape given to `init`.
 *
 * Variables are records keyed by `layerName` (`${kind}${index}`). A layer appears in `params`
 * only when it has parameters and in `state` only when it has state, so
 * `sequential(dense(...), relu(), dense(...))` has params `{ dense0, dense2 }` and state `{}`.
 * State is threaded: `apply` returns every stateful layer's next state under its name.
 *
 * Keys: layer i is initialised with `foldIn(initKey, i)` and applied with
 * `{ ...ctx, key: foldIn(ctx.key, i) }`, so two dropout layers draw different masks and
 * inserting a layer only changes the keys of that position.
 *
 * @example
 * const mlp = nn.sequential(nn.dense({ units: 128, activation: 'relu' }), nn.dropout(0.2), nn.dense({ units: 10 }))
 * const { params, state, outputShape } = mlp.init(key(0), [784])  // params.dense0.kernel: [784, 128]; outputShape [10]
 * const { y } = mlp.apply({ params, state }, x, { training: true, key: key(1) })
 */
export const sequential = (...layers: readonly Layer[]): SequentialLayer => ({
  kind: 'sequential',
  layers,
  init: (k, inputShape) => {
    const params: Record<string, Params> = {}
    const state: Record<string, Params> = {}
    let shape: Shape = inputShape
    layers.forEach((layer, i) => {
      const name = layerName(layer, i)
      const out = layer.init(layerKey(k, i), shape)
      if (!isEmptyTree(out.params)) params[name] = out.params
      if (!isEmptyTree(out.state)) state[name] = out.state
      shape = out.outputShape
    })
    return { params, state, outputShape: shape }
  },
  apply: (model, x, ctx) => {
    const state: Record<string, Params> = {}
    let y = x
    layers.forEach((layer, i) => {
      const name = layerName(layer, i)
      const out = layer.apply(
        { params: subtree(model.params, name, 'params'), state: subtree(model.state, name, 'state') },
        y,
        { ...ctx, key: layerKey(ctx.key, i) },
      )
      if (!isEmptyTree(out.state)) state[name] = out.state
      y = out.y
    })
    return { y: y === x ? tf.clone(x) : y, state }
  },
})
