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
import { decodeTrees, type TensorEntry } from './tensorTable.js'

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

const notFound = (path: string): CheckpointReadError =>
  rxtrainError(
    'CheckpointError',
    `no checkpoint at ${path}`,
    'give a checkpoint directory (holding manifest.json), a pointer such as <dir>/last or <dir>/best, or a directory holding last.json.',
    { file: path },
  )

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

const readPointer = (fs: FileSystem, dir: string, file: string): TE.TaskEither<CheckpointReadError, string> =>
  pipe(
    fs.readText(file),
    TE.mapLeft((e): CheckpointReadError => e),
    TE.chainEitherK((text) => {
      try {
        const { checkpoint } = JSON.parse(text) as { checkpoint?: unknown }
        if (typeof checkpoint === 'string' && checkpoint !== '' && !checkpoint.includes('/')) return E.right(`${dir}/${checkpoint}`)
      } catch {
        // fall through
      }
      return E.left(rxtrainError('CheckpointError', `${file} is damaged: it does not name a checkpoint`, 'resume from a checkpoint directory instead.', { file }))
    }),
  )

const dirname = (path: string): string => {
  const i = path.lastIndexOf('/')
  return i < 0 ? '.' : i === 0 ? '/' : path.slice(0, i)
}

/**
 * The checkpoint directory a path means: the directory itself (it holds manifest.json), a
 * pointer (`.../checkpoints/last` reads `.../checkpoints/last.json`), or a checkpoints directory
 * (its `last.json`).
 */
export const resolveCheckpoint = (fs: FileSystem, path: string): TE.TaskEither<CheckpointReadError, string> => {
  const clean = path.replace(/\/+$/, '')
  return pipe(
    TE.fromTask<readonly [boolean, boolean, boolean], CheckpointReadError>(async () => [
      await fs.exists(`${clean}/${MANIFEST_FILE}`)(),
      await fs.exists(`${clean}.json`)(),
      await fs.exists(`${clean}/last.json`)(),
    ]),
    TE.chain(([isCheckpoint, isPointer, holdsLast]) =>
      isCheckpoint
        ? TE.right(clean)
        : isPointer
          ? readPointer(fs, dirname(clean), `${clean}.json`)
          : holdsLast
            ? readPointer(fs, clean, `${clean}/last.json`)
            : TE.left(notFound(path)),
    ),
  )
}

const decode = (manifest: Manifest, bytes: Uint8Array, dir: string): E.Either<CheckpointReadError, LoadedCheckpoint> => {
  const file = `${dir}/${TENSORS_FILE}`
  if (bytes.byteLength !== manifest.tensorsBytes)
    return E.left(
      rxtrainError('CheckpointError', `${file} is damaged: it has ${bytes.byteLength} bytes, its manifest says ${manifest.tensorsBytes} (truncated?)`, 'resume from another checkpoint.', {
        file,
      }),
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

/**
 * Reads and verifies a checkpoint (the manifest's own hash and fields, the tensor file's size and
 * checksum), then builds its tensors on the current backend. Any damage is a `CheckpointError`
 * that names the damaged file.
 *
 * @example
 * const loaded = await loadCheckpoint(effects.nodeFileSystem, 'runs/mnist-mlp/version_0/checkpoints/last')()
 * if (E.isRight(loaded)) console.log(loaded.right.weightsOnly, loaded.right.loop?.phase) // false 'epochEnd'
 */
export const loadCheckpoint = (fs: FileSystem, path: string): TE.TaskEither<CheckpointReadError, LoadedCheckpoint> =>
  pipe(
    resolveCheckpoint(fs, path),
    TE.chain((dir) =>
      pipe(
        fs.readText(`${dir}/${MANIFEST_FILE}`),
        TE.mapLeft((e: FileError): CheckpointReadError => e),
        TE.chainEitherKW((text) => parseManifest(text, `${dir}/${MANIFEST_FILE}`)),
        TE.chainW((manifest) =>
          pipe(
            readTensors(fs, dir),
            TE.chainEitherKW((bytes) => decode(manifest, bytes, dir)),
          ),
        ),
      ),
    ),
  )

/** Releases a loaded checkpoint's tensors. */
export const disposeCheckpoint = (loaded: LoadedCheckpoint): void => disposeTree(loaded.state)

/** Makes sure `tf` is imported for its side effects where checkpoints are decoded. */
export const checkpointBackend = (): string => tf.getBackend()
