import * as tf from '@tensorflow/tfjs-core'
import { firstValueFrom, isObservable } from 'rxjs'
import type { BatchIterator, BatchSource, PassOrder, Pull } from '../../src/data/source.js'
import { key } from '../../src/random/key.js'

/** The result of one pull, whether the source answers synchronously or with an Observable. */
export const resolvePull = async <B>(pull: Pull<B>): Promise<IteratorResult<B, undefined>> =>
  isObservable(pull) ? firstValueFrom(pull) : pull

/** Pulls every batch of a pass (until `done`), closing the iterator afterwards. */
export const drain = async <B>(it: BatchIterator<B>, max = 10_000): Promise<B[]> => {
  const out: B[] = []
  for (let i = 0; i < max; i++) {
    const r = await resolvePull(it.next())
    if (r.done === true) break
    out.push(r.value)
  }
  it.close()
  return out
}

/** Every batch of one pass of `source` with the given order options. */
export const pass = <B>(source: BatchSource<B>, order: Partial<PassOrder> = {}): Promise<B[]> =>
  drain(source.open({ key: key(0), ...order }))

/** A tensor's values as a plain number array. */
export const values = (t: tf.Tensor): number[] => Array.from(t.dataSync())

/** Disposes every tensor of a list of batches (records of tensors). */
export const disposeAll = (batches: readonly object[]): void => {
  for (const b of batches) for (const t of Object.values(b) as unknown[]) if (t instanceof tf.Tensor) t.dispose()
}

export const numTensors = (): number => tf.memory().numTensors
