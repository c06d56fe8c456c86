import * as tf from '@tensorflow/tfjs-core'
import type { MonoTypeOperatorFunction } from 'rxjs'
import { rxtrainError } from '../errors/rxtrainError.js'
import { hook } from '../flow/hook.js'
import { perform } from '../flow/hookEffect.js'
import type { FitEvent } from '../pipeline/events.js'
import type { Params } from '../tree/tree.js'

/** One tensor of the model, relative to its row (`kernel` in row `dense0`; `` when the row is the tensor). */
export interface SummaryLeaf {
  readonly path: string
  readonly shape: readonly number[]
  readonly size: number
  /** A parameter (`params`) rather than state (`state`, e.g. batch-norm running statistics). */
  readonly trainable: boolean
}

/** One row of the summary: the tensors under one path prefix (a layer, at depth 1). */
export interface ParamSummaryRow {
  readonly name: string
  readonly leaves: readonly SummaryLeaf[]
  /** Trainable scalars. */
  readonly params: number
  /** Non-trainable scalars (state). */
  readonly nonTrainable: number
}

export interface ParamSummary {
  readonly rows: readonly ParamSummaryRow[]
  readonly trainableParams: number
  readonly nonTrainableParams: number
  readonly totalParams: number
  /** Estimated size of every tensor at 4 bytes a scalar (float32), in MB (10^6 bytes), as Lightning estimates it. */
  readonly sizeMB: number
}

const isTensor = (u: unknown): u is tf.Tensor => u instanceof tf.Tensor

/**
 * Keys in the model's order. A `sequential` names its layers `kind` + index (`dense0`,
 * `batchNorm1`, ..., `dense10`); when every key ends in a distinct number they are ordered by it,
 * so a tree rebuilt with sorted keys (a restored checkpoint) lists its layers as built. Other
 * keys keep their insertion order.
 */
const orderKeys = (keys: readonly string[]): string[] => {
  const indices = keys.map((k) => /(\d+)$/.exec(k)?.[1])
  if (indices.some((i) => i === undefined) || new Set(indices).size !== keys.length) return [...keys]
  return keys.map((k, i) => [k, Number(indices[i])] as const).sort((a, b) => a[1] - b[1]).map(([k]) => k)
}

/** Every tensor of `params` and `state`, walked together so that each layer's parameters and state are adjacent. */
const leavesOf = (params: Params | undefined, state: Params | undefined, prefix: readonly string[]): (readonly [readonly string[], tf.Tensor, boolean])[] => {
  const keys = orderKeys([...new Set([...Object.keys(params ?? {}), ...Object.keys(state ?? {})])])
  const out: (readonly [readonly string[], tf.Tensor, boolean])[] = []
  for (const key of keys) {
    const p = params?.[key]
    const s = state?.[key]
    const path = [...prefix, key]
    if (isTensor(p)) out.push([path, p, true])
    if (isTensor(s)) out.push([path, s, false])
    if ((p !== undefined && !isTensor(p)) || (s !== undefined && !isTensor(s)))
      out.push(...leavesOf(isTensor(p) ? undefined : p, isTensor(s) ? undefined : s, path))
  }
  return out
}

const checkDepth = (maxDepth: number): number => {
  if (maxDepth === -1 || maxDepth === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY
  if (Number.isInteger(maxDepth) && maxDepth >= 1) return maxDepth
  throw rxtrainError(
    'ConfigError',
    `modelSummary: maxDepth is ${maxDepth}`,
    'give maxDepth as 1 (a row per layer), 2 or more (a row per deeper path), or -1 (a row per tensor).',
    { field: 'maxDepth' },
  )
}

/**
 * The data of a model summary: the tensors of `params` (trainable) and `state` (non-trainable)
 * grouped into rows by the first `maxDepth` parts of their paths (1: a row per top-level name,
 * i.e. per layer of a `sequential`; 2: a row per `dense0/kernel`; -1: a row per tensor), with
 * the totals. Pure: it reads shapes only, never tensor values.
 *
 * @example
 * summaryRows(params, state).rows[0] // { name: 'dense0', params: 200960, nonTrainable: 0, leaves: [kernel [784, 256], bias [256]] }
 */
export const summaryRows = (params: Params, state: Params = {}, maxDepth = 1): ParamSummary => {
  const depth = checkDepth(maxDepth)
  const rows = new Map<string, { leaves: SummaryLeaf[]; params: number; nonTrainable: number }>()
  for (const [path, tensor, trainable] of leavesOf(params, state, [])) {
    const name = path.slice(0, depth).join('/')
    const row = rows.get(name) ?? { leaves: [], params: 0, nonTrainable: 0 }
    rows.set(name, row)
    row.leaves.push({ path: path.slice(depth).join('/'), shape: tensor.shape, size: tensor.size, trainable })
    if (trainable) row.params += tensor.size
    else row.nonTrainable += tensor.size
  }
  const list = [...rows].map(([name, r]) => ({ name, ...r }))
  const trainableParams = list.reduce((n, r) => n + r.params, 0)
  const nonTrainableParams = list.reduce((n, r) => n + r.nonTrainable, 0)
  const totalParams = trainableParams + nonTrainableParams
  return { rows: list, trainableParams, nonTrainableParams, totalParams, sizeMB: (totalParams * 4) / 1e6 }
}

const count = (n: number): string => n.toLocaleString('en-US')
const shapeText = (l: SummaryLeaf): string => `${l.path === '' ? '' : `${l.path} `}[${l.shape.join(', ')}]`

/**
 * The summary as lines of text: a table (name | shapes | params, and a non-trainable column when
 * the model has state), then the totals.
 *
 * @example
 * formatSummary(summaryRows(params, state))
 * // name       | shapes                        | params
 * // -----------+-------------------------------+--------
 * // dense0     | kernel [784, 256], bias [256] | 200,960
 * // ...
 * // 204,042  trainable params
 */
export const formatSummary = (summary: ParamSummary): string[] => {
  const withState = summary.nonTrainableParams > 0
  const header = ['name', 'shapes', 'params', ...(withState ? ['non-trainable'] : [])]
  const body = summary.rows.map((r) => [
    r.name,
    r.leaves.map(shapeText).join(', '),
    count(r.params),
    ...(withState ? [count(r.nonTrainable)] : []),
  ])
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((cells) => (cells[c] as string).length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (c >= 2 ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number)))
      .join(' | ')
      .trimEnd()
  const totals: [string, string][] = [
    [count(summary.trainableParams), 'trainable params'],
    [count(summary.nonTrainableParams), 'non-trainable params'],
    [count(summary.totalParams), 'total params'],
    [summary.sizeMB.toFixed(3), 'estimated size (MB, float32)'],
  ]
  const valueWidth = Math.max(...totals.map(([v]) => v.length))
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...body.map(line),
    '',
    ...totals.map(([v, what]) => `${v.padEnd(valueWidth)}  ${what}`),
  ]
}

/**
 * Lightning `ModelSummary`'s options.
 *
 * @example
 * const options: ModelSummaryOptions = { maxDepth: 2 } // a row per layer/tensor: dense0/kernel, dense0/bias, ...
 * fit(module, { train, val }, { maxEpochs: 3 }).pipe(modelSummary(options)).subscribe()
 */
export interface ModelSummaryOptions {
  /** 1 (default): a row per top-level name (per layer); 2: a row per `layer/tensor` path; -1: a row per tensor. */
  readonly maxDepth?: number
}

/**
 * Lightning's `ModelSummary`: at `fitStart`, prints the model's tensors grouped by layer with
 * their shapes and counts, then the trainable, non-trainable (state, e.g. batch-norm
 * statistics) and total counts and the estimated size, on the run's console. Events pass
 * through unchanged.
 *
 * @example
 * fit(module, { train, val }, { maxEpochs: 3 }).pipe(modelSummary(), progressBar()).subscribe()
 */
export const modelSummary = (options: ModelSummaryOptions = {}): MonoTypeOperatorFunction<FitEvent> => {
  const maxDepth = checkDepth(options.maxDepth ?? 1)
  return hook<null, FitEvent>({
    kind: 'modelSummary',
    on: ['fitStart'],
    init: () => null,
    step: (s, e, ctx) => {
      if (e.type !== 'fitStart') return [s]
      // Shapes only, read while the event is live; the printing is the effect.
      const lines = formatSummary(summaryRows(e.state.params, e.state.state, maxDepth))
      return [
        s,
        [
          perform(() => {
            for (const line of lines) ctx.env.console.out(line)
          }),
        ],
      ]
    },
  })
}
