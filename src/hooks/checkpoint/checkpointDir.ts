import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type { FileError, FileSystem } from '../../effects/fileSystem.js'
import { type RxtrainError, rxtrainError } from '../../errors/rxtrainError.js'
import type { HookStates } from '../../flow/hookEffect.js'
import { type OwnCheckpoints, reconcileCheckpointDir } from './reconcile.js'

/** Whether a file in a checkpoint directory is a leftover of a write that never finished (a crash). */
const halfWritten = (name: string): boolean => name.startsWith('.tmp-') || /^\..*\.tmp$/.test(name)

/**
 * Makes the checkpoint directory, clears what crashed runs left half-written in it, in a resumed
 * run removes the hook's own checkpoints that its restored state no longer counts (see
 * `reconcileCheckpointDir`), and answers the names then there (without `.json`), which new
 * checkpoints must never take.
 */
export const prepareCheckpointDir = (fs: FileSystem, dir: string, own?: OwnCheckpoints): TE.TaskEither<FileError, ReadonlySet<string>> =>
  pipe(
    fs.mkdir(dir),
    TE.chain(() => fs.list(dir)),
    TE.chain((names) => TE.sequenceSeqArray(names.filter(halfWritten).map((n) => fs.remove(`${dir}/${n}`)))),
    TE.chain(() => (own === undefined ? TE.right(undefined) : pipe(fs.list(dir), TE.chain((names) => reconcileCheckpointDir(fs, dir, names, own))))),
    TE.chain(() => fs.list(dir)),
    TE.map((names) => new Set(names.map((n) => n.replace(/\.json$/, '')))),
  )

/** The position of a checkpoint hook in its pipe, from its key: `checkpoint` 1, `checkpoint#2` 2 ... (0: not a checkpoint hook). */
export const ordinal = (key: string): number => {
  const m = /^checkpoint(?:#(\d+))?$/.exec(key)
  return m === null ? 0 : Number(m[1] ?? 1)
}

/**
 * A `ConfigError` when another checkpoint hook of the run (seen in the hook states every hook
 * left at `fitStart`) writes into the same directory as hook `key`: their pruning and last/best
 * pointers would overwrite each other's.
 */
export const sharedDirError = (hookStates: HookStates, key: string, dir: string): RxtrainError | undefined => {
  for (const [other, state] of Object.entries(hookStates)) {
    if (other === key || ordinal(other) === 0) continue
    if (typeof state !== 'object' || state === null || (state as { dir?: unknown }).dir !== dir) continue
    const [a, b] = ordinal(other) < ordinal(key) ? [other, key] : [key, other]
    return rxtrainError(
      'ConfigError',
      `checkpoint hooks '${a}' and '${b}' both write into ${dir}`,
      "give each its own dir, e.g. checkpoint({ dir: 'runs/x/periodic', ... }) (their pruning and last/best pointers would overwrite each other's).",
      { dir },
    )
  }
  return undefined
}
