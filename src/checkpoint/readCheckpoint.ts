import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type { FileError, FileSystem } from '../effects/fileSystem.js'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { HookStates, TrainState } from '../pipeline/events.js'
import type { LoopState } from '../core/loopState.js'
import { disposeTree, type Params, type StateTree } from '../tree/tree.js'
import { fromJson } from './jsonValues.js'
import { MANIFEST_FILE, type Manifest, parseManifest, sha256, TENSORS_FILE } from './manifest.js'
import { otherModel, type SavedLeaf } from './otherModel.js'
import { resolveCheckpoint } from './resolveCheckpoint.js'
import { decodeTrees, type TensorEntry } from './tensorTable.js'

/** Also here, where it was first (callers import it from either file). */
export { resolveCheckpoint }

/**
 * What reading a checkpoint fails with: a missing or corrupt checkpoint (`CheckpointError`) or a failed read (`FileError`).
 *
 * @example
 * const loaded = await loadCheckpoint(effects.nodeFileSystem, 'runs/mnist/checkpoints/last')()
 * if (E.isLeft(loaded)) {
 *   const error: CheckpointReadError = loaded.left
 *   console.error(error.tag, error.problem) // CheckpointError no checkpoint at runs/mnist/checkpoints/last
 * }
 */
export type CheckpointReadError = RxtrainError<'CheckpointError' | 'FileError'>

/**
 * A checkpoint read back: its tensors are new and owned by the caller.
 *
 * @example
 * const loaded = await loadCheckpoint(effects.nodeFileSystem, 'runs/mnist/checkpoints/best')()
 * if (E.isRight(loaded)) {
 *   const ckpt: LoadedCheckpoint = loaded.right
 *   console.log(ckpt.path, ckpt.loop?.epoch, ckpt.loop?.globalStep, Object.keys(ckpt.hookStates))
 *   disposeTree(ckpt.state)
 * }
 */
export interface LoadedCheckpoint {
  /** The checkpoint directory. */
  readonly path: string
  readonly manifest: Manifest
  readonly state: TrainState
  readonly weightsOnly: boolean
  readonly loop: LoopState | null
  readonly hookStates: HookStates
  readonly options: Readonly<Record<string, unknown>> | null
}

/**
 * The checkpoint's tensor file. Missing beside its manifest, the checkpoint is incomplete: a
 * `CheckpointError` that says so (other read failures stay `FileError`s, with the system's cause).
 */
const readTensors = (fs: FileSystem, dir: string): TE.TaskEither<CheckpointReadError, Uint8Array> =>
  pipe(
    fs.readFile(`${dir}/${TENSORS_FILE}`),
    TE.orElse((e: FileError): TE.TaskEither<CheckpointReadError, Uint8Array> =>
      pipe(
        TE.fromTask(fs.exists(`${dir}/${TENSORS_FILE}`)),
        TE.chain((exists) =>
          TE.left(
            exists
              ? e
              : rxtrainError(
                  'CheckpointError',
                  `the checkpoint at ${dir} is incomplete: its manifest is there, its ${TENSORS_FILE} is missing`,
                  'resume from another checkpoint of the run (its last.json and best.json name complete ones); rxtrain writes both files before a checkpoint takes its name, so one was removed or copied in part.',
                  { file: `${dir}/${TENSORS_FILE}` },
                ),
          ),
        ),
      ),
    ),
  )

/**
 * The manifest's text. Missing, the checkpoint is not there (removed, or a folder that never held
 * one): a `CheckpointError`, like every missing checkpoint file; other read failures stay
 * `FileError`s, with the system's code.
 */
const readManifest = (fs: FileSystem, dir: string): TE.TaskEither<CheckpointReadError, string> =>
  pipe(
    fs.readText(`${dir}/${MANIFEST_FILE}`),
    TE.orElse((e: FileError): TE.TaskEither<CheckpointReadError, string> =>
      pipe(
        TE.fromTask(fs.exists(`${dir}/${MANIFEST_FILE}`)),
        TE.chain((exists) =>
          TE.left(
            exists
              ? e
              : rxtrainError('CheckpointError', `no checkpoint at ${dir}: its ${MANIFEST_FILE} is missing`, 'resume from another checkpoint of the run (its last.json and best.json name complete ones).', {
                  file: `${dir}/${MANIFEST_FILE}`,
                }),
          ),
        ),
      ),
    ),
  )

const decode = (manifest: Manifest, bytes: Uint8Array, dir: string): E.Either<CheckpointReadError, LoadedCheckpoint> => {
  const file = `${dir}/${TENSORS_FILE}`
  // The two files do not belong together. A manifest of another model is caught before this
  // when the model is known (`loadCheckpointFor`); here only the sizes say what happened.
  if (bytes.byteLength !== manifest.tensorsBytes)
    return E.left(
      rxtrainError(
        'CheckpointError',
        `${file} does not match its manifest: it has ${bytes.byteLength} bytes, the manifest describes ${manifest.tensorsBytes} (${manifest.tensors.length} tensors)${
          bytes.byteLength < manifest.tensorsBytes ? '; the file was cut short, or the two files come from different checkpoints' : '; the two files come from different checkpoints'
        }`,
        `resume from another checkpoint (last.json and best.json name complete ones), or put back the ${MANIFEST_FILE} that was written with this ${TENSORS_FILE}.`,
        { file },
      ),
    )
  const actual = sha256(bytes)
  if (actual !== manifest.tensorsSha256)
    return E.left(rxtrainError('CheckpointError', `${file} is damaged: its checksum does not match its manifest`, 'resume from another checkpoint.', { file }))
  try {
    const [params, modelState, optState, gradAccumulator] = decodeTrees(
      [manifest.params, manifest.modelState, manifest.optState, manifest.gradAccumulator],
      manifest.tensors as TensorEntry[],
      bytes,
      file,
    )
    const state: TrainState = {
      params: params as Params,
      state: modelState as Params,
      optState: (optState ?? null) as StateTree,
      gradAccumulator: (gradAccumulator ?? null) as Params | null,
    }
    return E.right({
      path: dir,
      manifest,
      state,
      weightsOnly: manifest.weightsOnly,
      loop: manifest.loop,
      hookStates: (fromJson(manifest.hooks ?? {}) ?? {}) as HookStates,
      options: manifest.options === null ? null : (fromJson(manifest.options) as Record<string, unknown>),
    })
  } catch (e) {
    return E.left(e as CheckpointReadError)
  }
}

/** Reads a checkpoint; `vet` may refuse it from its manifest, before its tensors are read. */
const load = <X>(fs: FileSystem, path: string, vet: (manifest: Manifest, dir: string) => X | undefined): TE.TaskEither<CheckpointReadError | X, LoadedCheckpoint> =>
  pipe(
    resolveCheckpoint(fs, path),
    TE.chain((dir) =>
      pipe(
        readManifest(fs, dir),
        TE.chainEitherKW((text) => parseManifest(text, `${dir}/${MANIFEST_FILE}`)),
        TE.map((manifest) => ({ dir, manifest })),
      ),
    ),
    TE.mapLeft((e): CheckpointReadError | X => e),
    TE.chain(({ dir, manifest }) => {
      const refused = vet(manifest, dir)
      if (refused !== undefined) return TE.left(refused)
      return pipe(
        readTensors(fs, dir),
        TE.chainEitherKW((bytes) => decode(manifest, bytes, dir)),
        TE.mapLeft((e): CheckpointReadError | X => e),
      )
    }),
  )

/**
 * Reads and verifies a checkpoint (the manifest's own hash and fields, the tensor file's size and
 * checksum), then builds its tensors on the current backend. Any damage, and any missing file
 * (the folder, its manifest or tensor file, the checkpoint a pointer names), is a `CheckpointError`
 * that names the file; a failed read of a file that is there is a `FileError` with the system's code.
 *
 * @example
 * const loaded = await loadCheckpoint(effects.nodeFileSystem, 'runs/mnist-mlp/version_0/checkpoints/last')()
 * if (E.isRight(loaded)) console.log(loaded.right.weightsOnly, loaded.right.loop?.phase) // false 'epochEnd'
 */
export const loadCheckpoint = (fs: FileSystem, path: string): TE.TaskEither<CheckpointReadError, LoadedCheckpoint> => load<never>(fs, path, () => undefined)

/** The model a checkpoint is loaded for: its parameters' spec, and what to do when they differ. */
export interface CheckpointModel {
  readonly spec: readonly SavedLeaf[]
  readonly remedy: string
}

/**
 * `loadCheckpoint` for a model: a checkpoint whose manifest lists other parameters (other names,
 * shapes or dtypes) is a `StructureError` that says how they differ, found before the tensor file
 * is read (a tensor file of the right model beside a manifest of another is then no "damaged file").
 */
export const loadCheckpointFor = (fs: FileSystem, path: string, model: CheckpointModel): TE.TaskEither<CheckpointReadError | RxtrainError<'StructureError'>, LoadedCheckpoint> =>
  load(fs, path, (manifest, dir) => otherModel(dir, model.spec, manifest.paramSpec, model.remedy))

/** Releases a loaded checkpoint's tensors. */
export const disposeCheckpoint = (loaded: LoadedCheckpoint): void => disposeTree(loaded.state)

/** Makes sure `tf` is imported for its side effects where checkpoints are decoded. */
export const checkpointBackend = (): string => tf.getBackend()
