import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { resolveAccelerator } from '../../src/backends/accelerator.js'
import { float32Precision, resolvePrecision } from '../../src/backends/precision.js'

describe('accelerator resolution', () => {
  it("'cpu' gives the cpu backend, current and described", async () => {
    const cpu = await resolveAccelerator('cpu')()
    expect(E.isRight(cpu) && cpu.right.name).toBe('cpu')
    expect(tf.getBackend()).toBe('cpu')
    expect(E.isRight(cpu) && cpu.right.deviceKind).toBe('cpu')
  })

  it("'auto' picks wasm here, and activate switches between initialised backends synchronously", async () => {
    const auto = await resolveAccelerator('auto')()
    const cpu = await resolveAccelerator('cpu')()
    if (E.isLeft(auto) || E.isLeft(cpu)) throw new Error('a backend failed')
    expect(auto.right.name).toBe('wasm')
    auto.right.activate()
    expect(tf.getBackend()).toBe('wasm')
    cpu.right.activate()
    expect(tf.getBackend()).toBe('cpu')
  })
})

describe('the backend capability', () => {
  it('reads scalars back in order, whatever their dtype', async () => {
    const cpu = await resolveAccelerator('cpu')()
    if (E.isLeft(cpu)) throw cpu.left
    const before = tf.memory().numTensors
    const values = [tf.scalar(1.5), tf.scalar(7, 'int32'), tf.tensor1d([2.25])]
    expect(cpu.right.readScalars(values)).toEqual([1.5, 7, 2.25])
    expect(cpu.right.readScalars([])).toEqual([])
    tf.dispose(values)
    expect(cpu.right.memory().numTensors).toBe(before)
  })

  it('scoped releases what it does not return', async () => {
    const cpu = await resolveAccelerator('cpu')()
    if (E.isLeft(cpu)) throw cpu.left
    const before = tf.memory().numTensors
    const out = cpu.right.scoped(() => {
      tf.ones([3])
      return { kept: tf.zeros([2]), n: 1, nothing: null }
    })
    expect(tf.memory().numTensors).toBe(before + 1)
    cpu.right.dispose(out)
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('precision', () => {
  it("'32-true' is the identity on losses and gradients and keeps a unit scale", () => {
    expect(resolvePrecision('32-true')).toBe(float32Precision)
    const loss = tf.scalar(3)
    const grads = { w: tf.ones([2]) }
    const s = float32Precision.initScale()
    expect(float32Precision.scaleLoss(loss, s)).toBe(loss)
    expect(float32Precision.unscale(grads, s)).toBe(grads)
    expect(float32Precision.nextScale(s, false)).toEqual({ scale: 1, goodSteps: 0 })
    expect(float32Precision.storageDtype).toBe('float32')
    tf.dispose([loss, grads.w])
  })
})
