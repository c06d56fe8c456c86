import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { Observable } from 'rxjs'
import type { Backend } from '../backends/backend.js'
import { type LoadedCheckpoint, loadCheckpointFor } from '../checkpoint/readCheckpoint.js'
import type { FileSystem } from '../effects/fileSystem.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { key, split } from '../random/key.js'
import type { GradientTransform } from '../optim/transform.js'
import { disposeTree, type Params, specOf, type StateTree } from '../tree/tree.js'
import type { ResumePoint } from './fitProgramArgs.js'
import type { Module } from './module.js'
import type { ResolvedOptions } from './options.js'

/** The checkpoint path `ckptPath` means: `'last'` and `'best'` live in `<defaultRootDir>/checkpoints`. */
export const checkpointPathOf = (options: ResolvedOptions): string | undefined => {
  const p = options.ckptPath
  return p === 'last' || p === 'best' ? `${options.defaultRootDir}/checkpoints/${p}` : p
}

/** Checks that a checkpoint can resume this module, or says why not (and releases it). */
/**
 * The first place where two state trees differ in structure: a record's keys, an array's length,
 * a tensor's shape or dtype, or a tensor where plain data was (numbers, null and the like may
 * change value between checkpoints and are not compared). A slot that a fresh state leaves
 * `null` may hold a state by the time of the checkpoint: state allocated on first use (a
 * backbone's optimizer state at its unfreeze, `backboneFinetuning`).
 */
export const stateMismatch = (expected: unknown, actual: unknown, path = 'optimizer state'): string | undefined => {
  if (expected === null) return undefined
  if (expected instanceof tf.Tensor || actual instanceof tf.Tensor) {
    if (!(expected instanceof tf.Tensor) || !(actual instanceof tf.Tensor)) return `${path}: a tensor on one side only`
    return expected.dtype === actual.dtype && expected.shape.join(',') === actual.shape.join(',')
      ? undefined
      : `${path}: expected [${expected.shape.join(',')}] ${expected.dtype}, got [${actual.shape.join(',')}] ${actual.dtype}`
  }
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual) || expected.length !== actual.length)
      return `${path}: expected ${Array.isArray(expected) ? `a list of ${expected.length}` : 'no list'}, got ${Array.isArray(actual) ? `a list of ${actual.length}` : 'no list'}`
    for (let i = 0; i < expected.length; i++) {
      const m = stateMismatch(expected[i], actual[i], `${path}[${i}]`)
      if (m !== undefined) return m
    }
    return undefined
  }
  const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null
  if (isRecord(expected) || isRecord(actual)) {
    if (!isRecord(expected) || !isRecord(actual)) return `${path}: a record on one side only`
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort()
    for (const k of keys) {
      if (!(k in expected)) return `${path}.${k}: not expected`
      if (!(k in actual)) return `${path}.${k}: missing`
      const m = stateMismatch(expected[k], actual[k], `${path}.${k}`)
      if (m !== undefined) return m
    }
  }
  return undefined
}

const resumable = <P extends Params, S extends Params>(
  loaded: LoadedCheckpoint,
  module: Module<P, S, unknown, unknown>,
  optimizer: GradientTransform<StateTree>,
  backend: Backend,
): E.Either<unknown, ResumePoint<P, S>> => {
  const fail = (e: unknown) => {
    disposeTree(loaded.state)
    return E.left(e)
  }
  if (loaded.weightsOnly || loaded.loop === null)
    return fail(
      rxtrainError('CheckpointError', `${loaded.path} holds weights only and cannot resume training`, 'resume from a full checkpoint, or load these weights with loadParams for inference or fine-tuning.', {
        file: loaded.path,
      }),
    )
  // The parameters' structure was checked on the manifest, before the tensors were read.
  // The optimizer must be the one that wrote the state (a different chain fails much later, obscurely).
  const mismatch = backend.scoped(() => stateMismatch(optimizer.init(loaded.state.params), loaded.state.optState))
  if (mismatch !== undefined)
    return fail(
      rxtrainError(
        'StructureError',
        `${loaded.path} holds the state of another optimizer: ${mismatch}`,
        'resume with the optimizer (and gradientClipVal) that wrote the checkpoint, or load its weights with loadParams and start a new optimizer.',
        { file: loaded.path },
      ),
    )
  return E.right({ from: loaded.path, state: loaded.state as ResumePoint<P, S>['state'], loop: loaded.loop, hookStates: loaded.hookStates, precision: loaded.manifest.precision.name })
}

/**
 * Loads the checkpoint to resume from, as an Observable that emits it once. If the run is
 * cancelled while the files are read, the tensors that arrive afterwards are released.
 */
export const resumeFrom = <P extends Params, S extends Params>(
  fs: FileSystem,
  path: string,
  module: Module<P, S, unknown, unknown>,
  optimizer: GradientTransform<StateTree>,
  backend: Backend,
  seed: number,
): Observable<ResumePoint<P, S>> =>
  new Observable<ResumePoint<P, S>>((subscriber) => {
    let listening = true
    // A checkpoint of another model is refused from its manifest, with the differences listed.
    const spec = backend.scoped(() => specOf(module.init(split(key(seed), 4)[0]).params))
    const remedy = 'resume with the module that wrote the checkpoint, or load matching weights with loadParams.'
    loadCheckpointFor(fs, path, { spec, remedy })().then(
      (loaded) => {
        if (E.isLeft(loaded)) {
          if (listening) subscriber.error(loaded.left)
          return
        }
        if (!listening) {
          disposeTree(loaded.right.state)
          return
        }
        let point: E.Either<unknown, ResumePoint<P, S>>
        try {
          point = resumable(loaded.right, module, optimizer, backend)
        } catch (e) {
          disposeTree(loaded.right.state)
          point = E.left(e)
        }
        if (E.isLeft(point)) subscriber.error(point.left)
        else {
          subscriber.next(point.right)
          subscriber.complete()
        }
      },
      (e: unknown) => {
        if (listening) subscriber.error(e)
      },
    )
    return () => {
      listening = false
    }
  })
