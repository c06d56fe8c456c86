import * as tf from '@tensorflow/tfjs-core'
import { flattenParams, type Params } from '../tree/tree.js'
import { type LogEntry, type Logs } from './logs.js'

/**
 * Which gradient norms a training step logs (Lightning's `grad_norm(module, norm_type=2)`, logged
 * from `on_before_optimizer_step`): none (`'off'`, the default: the step is unchanged), the global
 * L2 norm (`'global'`), also one per parameter group (`'per-group'`: each top-level entry of the
 * parameter tree, e.g. a layer, or a GAN's `generator` and `discriminator`), also one per
 * parameter (`'per-parameter'`).
 *
 * @example
 * const mode: GradNormMode = 'per-group'
 * fit(module, { train, val }, { maxEpochs: 3, logGradNorm: mode }).pipe(csvLogger()).subscribe()
 */
export type GradNormMode = 'off' | 'global' | 'per-group' | 'per-parameter'

export const gradNormModes: readonly GradNormMode[] = ['off', 'global', 'per-group', 'per-parameter']

/** The log name of a group's or a parameter's norm: `grad_norm_<path>`, with the path's `/` as `.` (the report charts names containing `grad_norm`). */
export const gradNormName = (path: string): string => (path === '' ? 'grad_norm' : `grad_norm_${path.replace(/\//g, '.')}`)

/** Logged per optimizer step, not reduced over the epoch (Lightning logs them per step). */
const perStep = (value: tf.Scalar): LogEntry => ({ value, onStep: true, onEpoch: false })

/**
 * The L2 norms of the gradients an optimizer step receives, as step logs (tensors: they are read
 * back with the loss, in the same transfer): `grad_norm` (all of them), `grad_norm_<group>` and
 * `grad_norm_<layer>.<param>` by `mode`; undefined when `mode` is `'off'`.
 *
 * @example
 * const logs = tidy(() => gradNormLogs({ dense: { kernel: tf.ones([2, 2]), bias: tf.ones([2]) } }, 'per-parameter'))
 * // { grad_norm: √6, grad_norm_dense: √6, 'grad_norm_dense.bias': √2, 'grad_norm_dense.kernel': 2 } as scalar tensors
 */
export const gradNormLogs = (grads: Params, mode: GradNormMode): Logs | undefined => {
  if (mode === 'off') return undefined
  const leaves = flattenParams(grads)
  const squares = leaves.map((l) => ({ path: l.path, sq: tf.sum(tf.square(l.tensor)) as tf.Scalar }))
  const out: Record<string, LogEntry> = {}
  out[gradNormName('')] = perStep(tf.sqrt(squares.reduce((a, s) => tf.add(a, s.sq) as tf.Scalar, tf.scalar(0))) as tf.Scalar)
  if (mode === 'per-group' || mode === 'per-parameter') {
    const groups = new Map<string, tf.Scalar[]>()
    for (const s of squares) {
      const group = s.path.split('/')[0] as string
      groups.set(group, [...(groups.get(group) ?? []), s.sq])
    }
    for (const [group, sq] of groups) out[gradNormName(group)] = perStep(tf.sqrt(sq.reduce((a, b) => tf.add(a, b) as tf.Scalar, tf.scalar(0))) as tf.Scalar)
  }
  if (mode === 'per-parameter') for (const s of squares) out[gradNormName(s.path)] ??= perStep(tf.sqrt(s.sq) as tf.Scalar)
  return out
}
