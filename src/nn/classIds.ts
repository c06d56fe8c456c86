import type * as tf from '@tensorflow/tfjs-core'
import { hostValues } from '../backends/hostValues.js'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'

/** `[3]`, or `[3, 1]` for a position in ids of shape [batch, time]. */
const positionOf = (shape: readonly number[], flat: number): string => {
  const coords: number[] = []
  let rest = flat
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const d = shape[axis] ?? 1
    coords.unshift(rest % d)
    rest = Math.floor(rest / d)
  }
  return `[${coords.join(', ')}]`
}

/** The error for class ids outside [0, classes). */
const outOfRange = (where: string, value: number, position: string, count: number, classes: number): RxtrainError<'DataError'> =>
  rxtrainError(
    'DataError',
    `${where}: label ${value} at ${position} of the labels is outside the ${classes} classes [0, ${classes})${count > 1 ? ` (${count} labels of this batch are)` : ''}`,
    `class ids are integers 0 to ${classes - 1} for logits of ${classes} classes: give the model's last layer one unit per class (the largest label + 1), or map the labels into that range (1-based ids minus 1; rows labelled -1 for "unknown" dropped before the loss).`,
    { value, position, count, classes },
  )

/**
 * Throws a `DataError` naming the first class id outside [0, classes) (and how many there are),
 * where `tf.oneHot` would silently make it an all-zero row: a loss of 0 and a gradient of pure
 * softmax for that example, an accuracy that never counts it, and a run that trains on without a
 * word. The loop adds the stage, epoch and batch index to the message.
 *
 * The ids are read on the host where they already are (cpu, wasm, tensorflow): one copy of an
 * int per example and a loop over them, measured at well under 1% of an MLP step
 * (bench/labelCheck.ts). On webgpu that read would synchronise with the device, so the ids are not
 * checked there.
 */
export const checkClassIds = (where: string, ids: tf.Tensor, classes: number): void => {
  const values = hostValues(ids)
  if (values === undefined) return
  let first = -1
  let count = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number
    if (!(v >= 0 && v < classes)) {
      if (first < 0) first = i
      count++
    }
  }
  if (first >= 0) throw outOfRange(where, values[first] as number, positionOf(ids.shape, first), count, classes)
}
