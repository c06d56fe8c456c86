import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { hasTag } from '../../src/errors/rxtrainError.js'
import {
  cloneTree,
  countParams,
  disposeTree,
  flattenParams,
  mapParams,
  releaseGeneration,
  specOf,
  structureDiff,
  tensorIdsOf,
  tensorsOf,
  unflattenParams,
  zipParams,
} from '../../src/tree/tree.js'
import { useBackend } from '../support/backend.js'

beforeAll(async () => {
  await useBackend('cpu')
})

const tree = () => ({ z: tf.tensor1d([1, 2]), a: { w: tf.tensor2d([[1, 2, 3]]), b: tf.scalar(4) } })

describe('parameter trees', () => {
  it('flatten in sorted path order, whatever the insertion order', () => {
    const t = tree()
    expect(flattenParams(t).map((l) => l.path)).toEqual(['a/b', 'a/w', 'z'])
    disposeTree(t)
  })

  it('flattening the same tree again gives equal leaves in a fresh array (what the caller does to it stays there)', () => {
    const t = tree()
    const first = flattenParams(t)
    first.pop()
    first.push({ path: 'x', tensor: t.z })
    expect(flattenParams(t).map((l) => l.path)).toEqual(['a/b', 'a/w', 'z'])
    expect(flattenParams(t)).not.toBe(flattenParams(t))
    expect(flattenParams(t.a, 'a').map((l) => l.path)).toEqual(['a/b', 'a/w'])
    disposeTree(t)
  })

  it('unflatten is the inverse of flatten', () => {
    const t = tree()
    const leaves = flattenParams(t).map((l) => l.tensor)
    const back = unflattenParams(t, leaves)
    expect(back.a.w).toBe(t.a.w)
    expect(back.z).toBe(t.z)
    expect(() => unflattenParams(t, leaves.slice(1))).toThrow(/fewer leaves than the template/)
    expect(() => unflattenParams(t, [...leaves, leaves[0] as tf.Tensor])).toThrow(/4 leaves for a template of 3/)
    disposeTree(t)
  })

  it('a tree built like another flattens (and is built again) the same as one walked afresh', () => {
    const t = tree()
    const news = flattenParams(t).map((l) => tf.add(l.tensor, 1))
    const built = unflattenParams(t, news)
    // A record with the same keys in another order, never built by unflatten: walked afresh.
    const fresh = { a: { w: built.a.w, b: built.a.b }, z: built.z }
    expect(flattenParams(built)).toEqual(flattenParams(fresh))
    expect(flattenParams(built).map((l) => l.tensor)).toEqual(news)
    const again = unflattenParams(built, flattenParams(t).map((l) => l.tensor))
    expect(Object.keys(again.a)).toEqual(['b', 'w'])
    expect(again.a.w).toBe(t.a.w)
    expect(flattenParams(again.a, 'a').map((l) => l.path)).toEqual(['a/b', 'a/w'])
    disposeTree([t, news])
  })

  it('what a tree remembers of its leaves stays out of sight and out of copies', () => {
    const t = tree()
    const built = unflattenParams(t, flattenParams(t).map((l) => l.tensor))
    flattenParams(t)
    // Invisible: keys, JSON, spreads and deep equality see the plain record.
    expect(Object.keys(built)).toEqual(['a', 'z'])
    expect(built).toEqual({ a: { b: t.a.b, w: t.a.w }, z: t.z })
    expect(Object.getOwnPropertySymbols({ ...built })).toEqual([])
    // A copy that carries the hidden property over, with another leaf, flattens to its own leaves.
    const other = tf.tensor1d([9])
    const copy = Object.defineProperties({}, { ...Object.getOwnPropertyDescriptors(built), z: { value: other, enumerable: true } }) as typeof built
    expect(flattenParams(copy).map((l) => l.tensor)).toEqual([t.a.b, t.a.w, other])
    expect(tensorIdsOf({ state: copy })).toEqual(new Set([t.a.b, t.a.w, other].map((x) => x.id)))
    // A frozen tree cannot be marked: it is walked each time, with the same answer.
    const frozen = Object.freeze({ a: Object.freeze({ ...t.a }), z: t.z })
    expect(flattenParams(frozen).map((l) => l.path)).toEqual(['a/b', 'a/w', 'z'])
    expect(zipParams(frozen, built, (x) => x).a.w).toBe(t.a.w)
    disposeTree([t, other])
  })

  it('tensorIdsOf finds the tensors tensorsOf finds, remembered trees or not; tensorsOf keeps its walk order', () => {
    const t = tree()
    const built = unflattenParams(t, flattenParams(t).map((l) => l.tensor))
    const plain = { params: { z: t.z, a: { w: t.a.w, b: t.a.b } }, extra: [t.z] }
    expect(tensorIdsOf({ params: built, extra: [t.z] })).toEqual(new Set(tensorsOf(plain).map((x) => x.id)))
    // The order of a walk: keys as the record holds them, whether or not the tree was taken apart.
    const record = { z: t.z, a: { w: t.a.w, b: t.a.b } }
    flattenParams(record)
    expect(tensorsOf(record)).toEqual([t.z, t.a.w, t.a.b])
    disposeTree(t)
  })

  it('map keeps the structure and passes paths', () => {
    const t = tree()
    const paths: string[] = []
    const doubled = mapParams(t, (x, path) => {
      paths.push(path)
      return tf.mul(x, 2)
    })
    expect(paths).toEqual(['a/b', 'a/w', 'z'])
    expect(Array.from((doubled.a.w as tf.Tensor).dataSync())).toEqual([2, 4, 6])
    disposeTree([t, doubled])
  })

  it('zip combines leaf by leaf and names the differences when structures differ', () => {
    const t = tree()
    const u = tree()
    const sum = zipParams(t, u, (x, y) => tf.add(x, y))
    expect((sum.a.b as tf.Tensor).dataSync()[0]).toBe(8)
    const other = { z: tf.tensor1d([1, 2, 3]), a: { w: tf.tensor2d([[1, 2, 3]]) } }
    let error: unknown
    try {
      zipParams(t, other, (x) => x)
    } catch (e) {
      error = e
    }
    expect(hasTag(error, 'StructureError')).toBe(true)
    expect((error as Error).message).toMatch(/missing a\/b \[\]; z: expected \[2\] float32, got \[3\] float32/)
    disposeTree([t, u, sum, other])
  })

  it('counts parameters and describes their specs', () => {
    const t = tree()
    expect(countParams(t)).toBe(6)
    expect(specOf(t)).toEqual([
      { path: 'a/b', shape: [], dtype: 'float32' },
      { path: 'a/w', shape: [1, 3], dtype: 'float32' },
      { path: 'z', shape: [2], dtype: 'float32' },
    ])
    expect(structureDiff(specOf(t), [{ path: 'extra', shape: [1], dtype: 'int32' }])).toEqual([
      'missing a/b []',
      'missing a/w [1,3]',
      'missing z [2]',
      'unexpected extra [1]',
    ])
    disposeTree(t)
  })
})

describe('state generations', () => {
  it('tensorsOf finds each tensor once in nested records and arrays, skipping plain data', () => {
    const t = tf.scalar(1)
    expect(tensorsOf({ a: t, b: [t, { c: t }], n: 3, s: 'x', z: null })).toEqual([t])
    t.dispose()
  })

  it('release disposes what the next generation does not reuse (aliases survive)', () => {
    const kept = tf.scalar(1)
    const dropped = tf.scalar(2)
    const fresh = tf.scalar(3)
    const previous = { params: { w: dropped }, opt: { trace: kept } }
    const next = { params: { w: kept }, opt: { trace: kept }, more: fresh }
    releaseGeneration(previous, next)
    expect(dropped.isDisposed).toBe(true)
    expect(kept.isDisposed).toBe(false)
    disposeTree(next)
  })

  it('clone gives new handles on the same values that survive the original', () => {
    const t = tree()
    const copy = cloneTree({ params: t, step: 3 })
    disposeTree(t)
    expect(copy.step).toBe(3)
    expect(Array.from((copy.params.z as tf.Tensor).dataSync())).toEqual([1, 2])
    disposeTree(copy)
  })
})
