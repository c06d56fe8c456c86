import { readFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { gemmKernel, setWasmGemmBinaryForTests, wasmGemm, xnnpackBatchMatMul } from '../../src/backends/wasmGemm.js'
import { wasmGemmBinary } from '../../src/backends/wasmGemmBinary.js'
import { wasmModuleSource } from '../../scripts/wasmModuleSource.js'
import { useBackend } from '../support/backend.js'

beforeAll(async () => {
  await useBackend('wasm')
})
afterEach(() => setWasmGemmBinaryForTests(undefined))

const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer))

/** How many elements of two tensors differ in any bit (a count, so that a failure prints briefly). */
const differing = (x: tf.Tensor, y: tf.Tensor): number => {
  const [a, b] = [bits(x), bits(y)]
  return a.length !== b.length || x.shape.join() !== y.shape.join() ? Number.POSITIVE_INFINITY : a.filter((v, i) => v !== b[i]).length
}

/** Runs `f` with tfjs's own kernel (XNNPACK, after the transposes), as a runtime without SIMD would. */
const withOriginal = <T>(f: () => T): T => {
  setWasmGemmBinaryForTests(new Uint8Array([0]))
  try {
    return f()
  } finally {
    setWasmGemmBinaryForTests(undefined)
  }
}

type Case = readonly [m: number, k: number, n: number, transposeA: boolean, transposeB: boolean]
// The bench MLP's five products (x W1, h W2, dy W2^T, h^T dy, x^T dh), then edge sizes: rows not
// a multiple of 4, columns not a multiple of 8, one row, one column, every layout.
const cases: Case[] = [
  [128, 784, 256, false, false],
  [128, 256, 10, false, false],
  [128, 10, 256, false, true],
  [256, 128, 10, true, false],
  [784, 128, 256, true, false],
  [1, 16, 1, false, false],
  [5, 17, 3, false, false],
  [7, 13, 9, true, false],
  [6, 20, 17, false, true],
  [9, 33, 15, true, true],
  [3, 100, 8, true, false],
  [130, 31, 250, false, false],
  [4, 64, 7, false, false],
  [1, 40, 33, true, true],
  // k around the unrolled steps (4 a loop iteration, an exit after each): every count of steps
  // left over, k below one iteration, exactly one or two, in both layouts of A.
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((k): Case[] => [
    [8, k, 8, false, false],
    [8, k, 11, true, false],
    [5, k, 16, false, true],
    [4, k, 9, true, true],
  ]),
  // A transposed A is copied in blocks of 4 columns; the rows past the last block are read in place.
  [13, 6, 10, true, false],
  [14, 3, 8, true, true],
  [2, 9, 16, true, false],
]

describe("rxtrain's wasm matrix product", () => {
  it.each(cases)('is bitwise tfjs/XNNPACK for [%i, %i] x [%i, %i]: matMul, transposeA %s, transposeB %s', (m, k, n, ta, tb) => {
    const before = tf.memory().numTensors
    // The backend's own count also sees the kernel's scratch area, which the engine never does.
    const dataIds = (tf.backend() as unknown as { numDataIds(): number }).numDataIds()
    tf.tidy(() => {
      const a = tf.randomNormal(ta ? [k, m] : [m, k], 0, 1, 'float32', m + k)
      const b = tf.randomNormal(tb ? [n, k] : [k, n], 0, 1, 'float32', n + 1)
      const bias = tf.randomNormal([n], 0, 1, 'float32', 7)
      const products = () => [
        tf.matMul(a, b, ta, tb),
        tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias, activation: 'relu' }),
        tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias }),
        tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, activation: 'relu' }),
        tf.matMul(tf.reshape(a, [1, ...a.shape]), tf.reshape(b, [1, ...b.shape]), ta, tb),
      ]
      // Through the registered kernels (rxtrain's where it is faster), and rxtrain's whatever the sizes.
      const mine = products()
      const a3 = tf.reshape(a, [1, ...a.shape])
      const b3 = tf.reshape(b, [1, ...b.shape])
      const direct = (more: Record<string, tf.Tensor>, activation?: string): tf.Tensor => {
        const info = wasmGemm({ inputs: { a: a3, b: b3, ...more }, backend: tf.backend(), attrs: { transposeA: ta, transposeB: tb, ...(activation === undefined ? {} : { activation }) } })
        if (info === undefined) throw new Error('the kernel applies')
        return tf.reshape(tf.engine().makeTensorFromTensorInfo(info), [m, n])
      }
      const forced = [direct({}), direct({ bias }, 'relu'), direct({ bias }), direct({}, 'relu')]
      const original = withOriginal(products)
      expect(mine.map((t, i) => differing(t, original[i] as tf.Tensor))).toEqual([0, 0, 0, 0, 0])
      expect(forced.map((t, i) => differing(t, original[i] as tf.Tensor))).toEqual([0, 0, 0, 0])
    })
    expect(tf.memory().numTensors).toBe(before)
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(dataIds)
  })

  it('gives what XNNPACK gives for NaN, infinities and signed zeros (ReLU of NaN is 0 there too)', () => {
    tf.tidy(() => {
      const a = tf.tile(tf.tensor2d([Number.NaN, 1, 2, 3, Number.POSITIVE_INFINITY, 0, -0, -1, 1, Number.NEGATIVE_INFINITY, 5, 6, 1e38, 1e38, 7, 8, -0, -0, -0, -0, 1, 1, 1, 1], [6, 4]), [1, 4])
      const b = tf.tensor2d(Array.from({ length: 16 * 17 }, (_, i) => (i % 5 === 0 ? -0 : (i % 3) - 1)), [16, 17])
      const bias = tf.tensor1d(Array.from({ length: 17 }, (_, i) => (i % 4 === 0 ? -0 : i - 8)))
      const products = () => [tf.matMul(a, b), tf.fused.matMul({ a, b, bias, activation: 'relu' }), tf.fused.matMul({ a, b, bias }), tf.matMul(tf.transpose(a), b, true, false)]
      const mine = products()
      const original = withOriginal(products)
      expect(mine.map((t, i) => differing(t, original[i] as tf.Tensor))).toEqual([0, 0, 0, 0])
      expect(bits(mine[1] as tf.Tensor).slice(0, 17).every((v) => v === 0)).toBe(true)
    })
  })

  /** Calls `gemmKernel` with a fallback that records whether it ran. */
  const route = (inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>, backend: unknown = tf.backend()) => {
    let fellBack = false
    const kernel = gemmKernel((args) => {
      fellBack = true
      return tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc(args) as tf.TensorInfo
    })
    const out = kernel({ inputs, backend: backend as tf.KernelBackend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo
    tf.engine().makeTensorFromTensorInfo(out).dispose()
    return fellBack
  }

  it('takes the products it applies to, and leaves the rest to tfjs', () => {
    tf.tidy(() => {
      const a = tf.ones([1, 8, 32])
      const b = tf.ones([1, 32, 16])
      expect(route({ a, b }, {})).toBe(false)
      expect(route({ a: tf.ones([1, 32, 8]), b }, { transposeA: true })).toBe(false)
      expect(route({ a, b, bias: tf.ones([16]) }, { activation: 'relu' })).toBe(false)
      // Few terms per output too (dy W2^T has 10; XNNPACK's packed kernel is slower there).
      expect(route({ a: tf.ones([1, 8, 4]), b: tf.ones([1, 4, 16]) }, {})).toBe(false)
      expect(route({ a: tf.ones([1, 128, 10]), b: tf.ones([1, 256, 10]) }, { transposeB: true })).toBe(false)
      // Batched operands, another activation, a broadcast bias: tfjs's kernel.
      expect(route({ a: tf.ones([2, 8, 32]), b: tf.ones([2, 32, 16]) }, {})).toBe(true)
      expect(route({ a, b }, { activation: 'elu' })).toBe(true)
      expect(route({ a, b, bias: tf.ones([1]) }, {})).toBe(true)
    })
  })

  it('is what the registered BatchMatMul and _FusedMatMul kernels run', async () => {
    // A stand-in module whose "product" writes 42 into the first output: seen through tf.matMul.
    const wat = '(module (import "env" "memory" (memory 0)) (func (export "gemm") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (f32.store (local.get 2) (f32.const 42))))'
    const source = await wasmModuleSource(wat, 'sentinel.wat', 'sentinel')
    setWasmGemmBinaryForTests(Buffer.from(/'([^']*)'/.exec(source)?.[1] ?? '', 'base64'))
    tf.tidy(() => {
      const first = (t: tf.Tensor): number => t.dataSync()[0] as number
      expect(first(tf.matMul(tf.ones([8, 32]), tf.ones([32, 16])))).toBe(42)
      expect(first(tf.matMul(tf.ones([32, 8]), tf.ones([16, 32]), true, true))).toBe(42)
      expect(first(tf.fused.matMul({ a: tf.ones([8, 32]), b: tf.ones([32, 16]), bias: tf.ones([16]), activation: 'relu' }))).toBe(42)
      expect(first(tf.matMul(tf.ones([8, 4]), tf.ones([4, 16])))).toBe(42)
      expect(first(tf.matMul(tf.ones([8, 2, 4]), tf.ones([8, 4, 16])))).toBe(4)
      // The bench's GEMM-floor row runs XNNPACK's kernel, not this one.
      expect(first(xnnpackBatchMatMul(tf.ones([8, 32]), tf.ones([32, 16])))).toBe(32)
    })
  })

  it('falls back to tfjs without WebAssembly SIMD, or where the backend memory cannot be reached', () => {
    tf.tidy(() => {
      const a = tf.randomNormal([1, 8, 32], 0, 1, 'float32', 1)
      const b = tf.randomNormal([1, 32, 16], 0, 1, 'float32', 2)
      const wasm = tf.backend() as unknown as { wasm: object }
      const noMemory = Object.create(wasm, { wasm: { value: { ...wasm.wasm, asm: {} } } }) as unknown
      expect(route({ a, b }, {}, noMemory)).toBe(true)
      setWasmGemmBinaryForTests(new Uint8Array([0, 97, 115, 109])) // not a module: as if SIMD were refused
      expect(route({ a, b }, {})).toBe(true)
      expect(differing(tf.matMul(a, b), withOriginal(() => tf.matMul(a, b)))).toBe(0)
    })
  })

  it("keeps tfjs's own kernel reachable (xnnpackBatchMatMul), without leaks", () => {
    const before = tf.memory().numTensors
    tf.tidy(() => {
      const a = tf.randomNormal([128, 784], 0, 1, 'float32', 1) as tf.Tensor2D
      const b = tf.randomNormal([784, 256], 0, 1, 'float32', 2) as tf.Tensor2D
      const xnn = xnnpackBatchMatMul(a, b)
      expect(xnn.shape).toEqual([128, 256])
      expect(differing(xnn, tf.matMul(a, b))).toBe(0)
    })
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('the wasm GEMM binary', () => {
  it('is the compilation of wasmGemm.wat (run `npm run build:wasm` after changing it)', async () => {
    const wat = readFileSync(new URL('../../src/backends/wasmGemm.wat', import.meta.url), 'utf8')
    expect(await wasmModuleSource(wat, 'wasmGemm.wat', 'wasmGemmBinary')).toContain(`'${wasmGemmBinary}'`)
  })
})
