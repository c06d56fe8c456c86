import * as tf from '@tensorflow/tfjs-core'
import { ROUND_HALF_KERNEL } from './castHalf.js'
import type { HalfFormat } from './halfFloat.js'

/**
 * Half rounding on a WebGPU device (`RxtrainRoundHalf`): float32 to the nearest float16 or
 * bfloat16 value, ties to even, kept as float32, computed on the bits (`bitcast<u32>`) with the
 * same special cases as `halfFloat.ts` (overflow to infinity, float16 subnormals on the 2^-24
 * grid, signed zeros, any NaN to the quiet NaN 0x7fc00000). Integer arithmetic only, so a driver
 * that flushes subnormals (llvmpipe) or folds floats differently cannot change a bit. This is what
 * lets the half-precision policies run on webgpu, whose values cannot be read back synchronously.
 */

/** The WGSL body of one rounding, `u` the float32's bits, answering the result's bits. */
const roundBits: Record<HalfFormat, string> = {
  bfloat16: `
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0u) { return 0x7fc00000u; }
    return (u + 0x7fffu + ((u >> 16u) & 1u)) & 0xffff0000u;`,
  float16: `
    let sign = u & 0x80000000u;
    let magnitude = u & 0x7fffffffu;
    if (magnitude > 0x7f800000u) { return 0x7fc00000u; }
    if (magnitude >= 0x477ff000u) { return sign | 0x7f800000u; }
    if (magnitude >= 0x38800000u) { return sign | ((magnitude + 0x0fffu + ((magnitude >> 13u) & 1u)) & 0x7fffe000u); }
    // Subnormal in float16: |x| * 2^24 rounded to an integer q, then q * 2^-24 (exact in float32).
    let exponent = magnitude >> 23u;
    if (exponent == 0u) { return sign; }
    let shift = 126u - exponent;
    if (shift >= 25u) { return sign; }
    let mantissa = (magnitude & 0x007fffffu) | 0x00800000u;
    var q = mantissa >> shift;
    let rest = mantissa & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (q & 1u) == 1u)) { q = q + 1u; }
    return sign | bitcast<u32>(f32(q) * bitcast<f32>(0x33800000u));`,
}

interface WebGpuProgram {
  readonly variableNames: string[]
  readonly outputShape: number[]
  readonly shaderKey: string
  readonly dispatchLayout: { x: number[] }
  dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number]
  readonly size: boolean
  getUserCode(): string
}

/** The part of tfjs's WebGPU backend object a kernel calls. */
interface WebGpuBackendLike {
  runWebGPUProgram(program: WebGpuProgram, inputs: tf.TensorInfo[], outputDtype: tf.DataType): tf.TensorInfo
}

const WORKGROUP = 64

const program = (shape: number[], format: HalfFormat): WebGpuProgram => {
  const outputShape = shape.length === 0 ? [1] : shape
  const size = outputShape.reduce((a, b) => a * b, 1)
  return {
    variableNames: ['x'],
    outputShape,
    shaderKey: `rxtrain_round_half_${format}`,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => `
      fn roundBits(u : u32) -> u32 {${roundBits[format]}
      }
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, bitcast<f32>(roundBits(bitcast<u32>(getXByOutputIndex(index)))));
        }
      }`,
  }
}

/** Registers `RxtrainRoundHalf` for tfjs's webgpu backend (once; done when `webgpu.ts` loads, before its record is built). */
export const registerWebGpuHalf = (): void => {
  if (tf.getKernel(ROUND_HALF_KERNEL, 'webgpu') !== undefined) return
  tf.registerKernel({
    kernelName: ROUND_HALF_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x as tf.TensorInfo
      const format = (attrs as { format: HalfFormat }).format
      const out = (backend as unknown as WebGpuBackendLike).runWebGPUProgram(program([...x.shape], format), [x], 'float32')
      return { ...out, shape: [...x.shape] }
    },
  })
}

registerWebGpuHalf()
