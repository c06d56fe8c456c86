import { key } from '../random/key.js'
import { countParams, disposeTree } from '../tree/tree.js'
import type { Layer, Shape } from './layer.js'
import { type SequentialLayer, layerKey, layerName } from './sequential.js'

/**
 * One row of a model summary: a layer, what it outputs and how many numbers it holds.
 *
 * @example
 * const net = nn.sequential(nn.dense({ units: 128, activation: 'relu' }), nn.dense({ units: 10 }))
 * for (const row of nn.summarize(net, [784]).rows) console.log(row.name, row.outputShape, row.paramCount)
 * // dense0 [128] 100480, then dense1 [10] 1290
 */
export interface SummaryRow {
  /** The layer's name in the parameter tree, e.g. `dense0` (the kind for a lone layer). */
  readonly name: string
  readonly kind: string
  /** Output shape without the batch dimension. */
  readonly outputShape: Shape
  /** Trainable scalars (params). */
  readonly paramCount: number
  /** Non-trainable scalars (state, e.g. batch-norm running statistics). */
  readonly stateCount: number
}

/**
 * A model summary: one row per layer and the totals. Pure data; printing is up to the caller.
 *
 * @example
 * const summary: nn.Summary = nn.summarize(nn.sequential(nn.flatten(), nn.dense({ units: 10 })), [28, 28, 1])
 * console.log(`${summary.totalParamCount} parameters`) // 7850 parameters
 */
export interface Summary {
  readonly inputShape: Shape
  readonly rows: readonly SummaryRow[]
  readonly totalParamCount: number
  readonly totalStateCount: number
}

const isSequential = (layer: Layer): layer is SequentialLayer =>
  'layers' in layer && Array.isArray((layer as { readonly layers?: unknown }).layers)

/**
 * Summarises a layer for an input shape (batch excluded): for a `sequential`, one row per
 * chained layer (named as in its parameter tree); otherwise a single row. It initialises each
 * layer with a fixed key to learn shapes and counts, then disposes those tensors, so it leaves
 * no tensors behind. Throws the layers' own `ShapeError`s when the shapes do not chain.
 *
 * @example
 * nn.summarize(nn.sequential(nn.flatten(), nn.dense({ units: 10 })), [28, 28, 1])
 * // rows: flatten0 [784] 0, dense1 [10] 7850; totalParamCount 7850
 */
export const summarize = (layer: Layer, inputShape: Shape): Summary => {
  const children: readonly (readonly [string, Layer])[] = isSequential(layer)
    ? layer.layers.map((l, i) => [layerName(l, i), l] as const)
    : [[layer.kind, layer]]
  const rootKey = key(0)
  const rows: SummaryRow[] = []
  let shape = inputShape
  children.forEach(([name, child], i) => {
    const { params, state, outputShape } = child.init(layerKey(rootKey, i), shape)
    const counts = { paramCount: countParams(params), stateCount: countParams(state) }
    disposeTree([params, state])
    rows.push({ name, kind: child.kind, outputShape, ...counts })
    shape = outputShape
  })
  return {
    inputShape,
    rows,
    totalParamCount: rows.reduce((n, r) => n + r.paramCount, 0),
    totalStateCount: rows.reduce((n, r) => n + r.stateCount, 0),
  }
}
