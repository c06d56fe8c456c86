import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, describe, expect, it } from 'vitest'
import { startBackend } from '../../src/backends/accelerator.js'
import type { Backend } from '../../src/backends/backend.js'
import { castHalf, deviceCastHalf, deviceRoundingOf, ROUND_HALF_KERNEL } from '../../src/backends/castHalf.js'
import { type HalfFormat, roundArray } from '../../src/backends/halfFloat.js'

/** Edge values: ties both ways, float16 and float32 subnormals, overflow, infinities, NaNs, signed zeros. */
const edgeBits = [
  0x00000000, 0x80000000, 0x3f800000, 0x3f801000, 0x3f803000, 0x3f802000, 0x3f800800, 0x3f808000, 0x3f818000, 0x3f817fff,
  0x477fe000, 0x477ff000, 0x477fefff, 0xc77ff000, 0x47800000, 0x7f7fffff, 0xff7fffff, 0x7f7f8000, 0x7f800000, 0xff800000,
  0x7fc00000, 0xffc00000, 0x7f800001, 0x7fbfffff, 0x38800000, 0x387fe000, 0x387ff000, 0x38000000, 0x33800000, 0x33000000,
  0x33000001, 0x33c00000, 0x34000000, 0x34400000, 0xb3400000, 0x32ffffff, 0x00000001, 0x807fffff, 0x00400000, 0x3a7fd000,
  0x3a7fc000, 0x3a7fe000, 0x3a801000, 0x3a803000, 0x3c001000, 0x3c003000, 0x40490fdb, 0xc2f6e979, 0x00800000, 0x00ffffff,
]
const edges = new Float32Array(new Uint32Array(edgeBits).buffer)
/** Plus a sweep of random bit patterns (a fixed LCG), so every exponent range is hit. */
const sweep = new Float32Array(
  new Uint32Array(Array.from({ length: 4096 }, (_, i) => (Math.imul(i + 1, 2654435761) ^ Math.imul(i, 40503)) >>> 0)).buffer,
)
const values = Float32Array.from([...edges, ...sweep])

/** The bits, with every NaN as one (the format turns any NaN into a NaN). */
const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(Float32Array.from(a).buffer), (u, i) => (Number.isNaN(a[i]) ? 0x7fc00000 : u))

const formats: HalfFormat[] = ['float16', 'bfloat16']

describe('RxtrainRoundHalf on cpu (the device rounding a cpu backend without host reads uses)', () => {
  it.each(formats)('%s: bitwise the host rounding, value and gradient, no leaks', (format) => {
    tf.setBackend('cpu')
    expect(tf.getKernel(ROUND_HALF_KERNEL, 'cpu')).toBeDefined()
    expect(deviceRoundingOf('cpu')).toBe(deviceCastHalf)
    const before = tf.memory().numTensors
    tf.tidy(() => {
      const x = tf.tensor(values, [values.length])
      const device = deviceCastHalf(x, format)
      expect(bitsOf(device.dataSync() as Float32Array)).toEqual(bitsOf(roundArray(values, format)))
      expect(bitsOf(device.dataSync() as Float32Array)).toEqual(bitsOf(castHalf(x, format).dataSync() as Float32Array))
      const dy = tf.tensor(values.slice().reverse(), [values.length])
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(deviceCastHalf(t, format), dy)))(tf.ones([values.length]))
      expect(bitsOf(g.dataSync() as Float32Array)).toEqual(bitsOf(roundArray(values.slice().reverse(), format)))
      expect(deviceCastHalf(tf.tensor([1, 2], [2], 'int32'), format).dtype).toBe('int32')
    })
    expect(tf.memory().numTensors).toBe(before)
  })
})

// Where webgpu cannot start (no Mesa llvmpipe, no GPU) these cases are skipped; CI has llvmpipe.
const started = await startBackend('webgpu')()
const webgpu: Backend | undefined = E.isRight(started) ? started.right : undefined

describe.skipIf(webgpu === undefined)('RxtrainRoundHalf on webgpu (WGSL)', () => {
  afterAll(() => {
    void tf.setBackend('cpu')
  })
  it('the webgpu record rounds on the device', () => {
    expect(webgpu?.hostReads).toBe(false)
    expect(webgpu?.roundHalf).toBe(deviceCastHalf)
  })
  it.each(formats)('%s: bitwise the host rounding on edge values and a sweep of bit patterns, shapes kept, no leaks', async (format) => {
    webgpu?.activate()
    const before = tf.memory().numTensors
    const x = tf.tensor(values, [values.length / 2, 2])
    const y = deviceCastHalf(x, format)
    expect(y.shape).toEqual([values.length / 2, 2])
    expect(bitsOf((await y.data()) as Float32Array)).toEqual(bitsOf(roundArray(values, format)))
    const one = tf.scalar(1 + 2 ** -9)
    const s = deviceCastHalf(one, format)
    expect(s.shape).toEqual([])
    expect(Array.from(await s.data())).toEqual([format === 'float16' ? 1 + 2 ** -9 : 1])
    tf.dispose([x, y, one, s])
    expect(tf.memory().numTensors).toBe(before)
  })
})
