import type * as tf from '@tensorflow/tfjs-core'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { type PrecisionName, type StorageDtype, storageDtypeOf } from '../backends/precision.js'
import type { FileError, FileSystem } from '../effects/fileSystem.js'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { HookStates, TrainState } from '../pipeline/events.js'
import type { LoopState } from '../core/loopState.js'
import { specOf, tensorsOf } from '../tree/tree.js'
import { type Json, toJson } from './jsonValues.js'
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, MANIFEST_FILE, manifestText, sha256, structureHash, TENSORS_FILE } from './manifest.js'
import { encodeTrees } from './tensorTable.js'

/** What a checkpoint holds. `loop: null` with `weightsOnly` makes a file for inference only. */
export interface CheckpointContent {
  readonly state: TrainState
  readonly weightsOnly: boolean
  readonly loop: LoopState | null
  readonly hookStates: HookStates
  readonly options: unknown
  /** The module's hyperparameters (`module.hparams`), when it declares them. */
  readonly hparams?: Readonly<Record<string, unknown>>
  readonly precision: { readonly name: PrecisionName; readonly storageDtype: StorageDtype }
  /** Free-form facts for people and tools (the monitored value, the file name's fields). */
  readonly meta: Readonly<Record<string, unknown>>
  readonly createdAt: string
}

const treesOf = (content: CheckpointContent): unknown[] => {
  const { state } = content
  return content.weightsOnly ? [state.params, state.state] : [state.params, state.state, state.optState, state.gradAccumulator ?? null]
}

/**
 * The two files of a checkpoint, as bytes, ready to write. Reads the tensors now, synchronously
 * (a backend with `hostReads`); `encodeCheckpointAsync` reads them on any backend.
 */
export const encodeCheckpoint = (content: CheckpointContent, read?: (t: tf.Tensor) => tf.TypedArray): { manifest: string; tensors: Uint8Array } => {
  const { state } = content
  // The storage dtype applies to the weights. Optimizer state and accumulated gradients stay
  // float32 (Adam's second moments underflow in float16), unless the policy keeps them rounded
  // already ('16-true', 'bf16-true'), where storing them in its format loses nothing.
  // (A policy's own storage dtype is exactly that: its half format under '-true', else float32.)
  const stateStorage = storageDtypeOf(content.precision.name)
  const weights = content.precision.storageDtype
  const encoded = encodeTrees(treesOf(content), [weights, weights, stateStorage, stateStorage], read)
  const spec = specOf(state.params)
  const manifest: Json = toJson({
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    createdAt: content.createdAt,
    tensorsBytes: encoded.bytes.byteLength,
    tensorsSha256: sha256(encoded.bytes),
    tensors: encoded.entries,
    paramSpec: spec,
    structureHash: structureHash(spec),
    params: encoded.trees[0],
    modelState: encoded.trees[1],
    weightsOnly: content.weightsOnly,
    optState: content.weightsOnly ? null : encoded.trees[2],
    gradAccumulator: content.weightsOnly ? null : encoded.trees[3],
    loop: content.weightsOnly ? null : content.loop,
    hooks: content.weightsOnly ? null : content.hookStates,
    options: content.options ?? null,
    // Absent, not null, when the module declares none: such a manifest is what older versions wrote.
    ...(content.hparams !== undefined && { hparams: content.hparams }),
    precision: content.precision,
    meta: content.meta,
  })
  return { manifest: manifestText(manifest), tensors: encoded.bytes }
}

/** `encodeCheckpoint` with the tensors read asynchronously first (works on webgpu too). */
export const encodeCheckpointAsync = async (content: CheckpointContent): Promise<{ manifest: string; tensors: Uint8Array }> => {
  const tensors = tensorsOf(treesOf(content))
  const values = await Promise.all(tensors.map((t) => t.data()))
  const byId = new Map(tensors.map((t, i) => [t.id, values[i] as tf.TypedArray]))
  return encodeCheckpoint(content, (t) => byId.get(t.id) as tf.TypedArray)
}

/**
 * Writes a checkpoint directory `dir/name` so that no reader ever sees half of it: both files go
 * into a hidden temporary directory (each written and flushed to disk, the two at once), which is
 * then renamed to its name in one step. A crash at any moment leaves the previous checkpoints as
 * they were and at worst a `.tmp-*` directory, which readers ignore and the next writer removes.
 */
export const writeCheckpoint = (
  fs: FileSystem,
  dir: string,
  name: string,
  files: { manifest: string; tensors: Uint8Array },
): TE.TaskEither<FileError | RxtrainError<'CheckpointError'>, string> => {
  const temp = `${dir}/.tmp-${name}`
  const final = `${dir}/${name}`
  return pipe(
    fs.mkdir(dir),
    TE.chain(() => TE.fromTask<boolean, FileError>(fs.exists(final))),
    TE.chainW((exists) =>
      exists
        ? TE.left(rxtrainError('CheckpointError', `a checkpoint named ${final} already exists`, 'give each checkpoint a unique name (the checkpoint hook adds -v1, -v2 ...).', { file: final }))
        : TE.right(undefined),
    ),
    TE.chainW(() => fs.remove(temp)),
    TE.chainW(() => fs.mkdir(temp)),
    // Both files at once: each waits on its flush to disk, and the two flushes overlap.
    TE.chainW(() => TE.sequenceArray([fs.writeFileAtomic(`${temp}/${TENSORS_FILE}`, files.tensors), fs.writeFileAtomic(`${temp}/${MANIFEST_FILE}`, files.manifest)])),
    TE.chainW(() => fs.rename(temp, final)),
    TE.map(() => final),
  )
}

/** Points `dir/<pointer>.json` at a checkpoint directory of `dir`, atomically. */
export const writePointer = (fs: FileSystem, dir: string, pointer: 'last' | 'best', name: string): TE.TaskEither<FileError, void> =>
  fs.writeFileAtomic(`${dir}/${pointer}.json`, `${JSON.stringify({ checkpoint: name })}\n`)
