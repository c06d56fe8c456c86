import * as tf from '@tensorflow/tfjs-core'

/** One kernel run, as `tf.profile` timed it. */
export interface KernelRun {
  readonly name: string
  readonly ms: number
}

const msOf = (t: number | { readonly error: string }): number => (typeof t === 'number' ? t : 0)

/**
 * Runs `f` now (synchronously) under `tf.profile`, and answers its result with the kernels it ran
 * and their times (`kernelTimeMs`: on the GPU backends the device's time), which arrive later.
 * tfjs would end the profile only a microtask after `f` returns, and reuses one profile record for
 * every call: the kernels are taken, and profiling turned off, as soon as `f` returns, so that
 * kernels run after it (by the loop, by hooks, by the next sampled step) are not counted.
 */
export const profileKernels = <T>(f: () => T): readonly [T, Promise<KernelRun[]>] => {
  const engine = tf.engine()
  let result: { readonly value: T } | undefined
  let failure: { readonly error: unknown } | undefined
  const info = tf.profile(() => {
    try {
      result = { value: f() }
    } catch (error) {
      failure = { error }
    }
    return [] as tf.Tensor[]
  })
  const kernels = engine.state.activeProfile.kernels.slice()
  engine.state.profiling = false
  // Its answer is the shared record, read above.
  info.catch(() => undefined)
  if (failure !== undefined) throw failure.error
  if (result === undefined) throw new Error('profileKernels: tf.profile did not run the function at once')
  const times = Promise.all(kernels.map(async (k) => ({ name: k.name, ms: msOf(await k.kernelTimeMs) })))
  return [result.value, times]
}
