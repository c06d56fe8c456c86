import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type { FileError, FileSystem } from './fileSystem.js'

const versionOf = (name: string): number | undefined => {
  const m = /^version_(\d+)$/.exec(name)
  return m === null ? undefined : Number(m[1])
}

const versions = (fs: FileSystem, root: string): TE.TaskEither<FileError, number[]> =>
  pipe(
    TE.fromTask(fs.exists(root)),
    TE.chain((exists) => (exists ? fs.list(root) : TE.right([]))),
    TE.map((names) => names.map(versionOf).filter((v): v is number => v !== undefined)),
  )

/**
 * The next run directory under `root`, Lightning-style: `root/version_0`, `root/version_1`, ...
 * (one more than the highest present). It is not created.
 *
 * @example
 * const dir = await effects.nextVersionDir(effects.nodeFileSystem, 'runs/mnist-mlp')()   // Right('runs/mnist-mlp/version_3')
 * if (E.isRight(dir)) fit(module, { train, val }, { defaultRootDir: dir.right }).subscribe()
 */
export const nextVersionDir = (fs: FileSystem, root: string): TE.TaskEither<FileError, string> =>
  pipe(
    versions(fs, root),
    TE.map((vs) => `${root}/version_${vs.length === 0 ? 0 : Math.max(...vs) + 1}`),
  )

/**
 * The highest-numbered run directory under `root`, if any (what "resume the latest run" means).
 *
 * @example
 * const latest = await effects.latestVersionDir(effects.nodeFileSystem, 'runs/mnist-mlp')()   // Right('runs/mnist-mlp/version_2'), Right(undefined) if none
 * if (E.isRight(latest) && latest.right !== undefined)
 *   fit(module, { train, val }, { defaultRootDir: latest.right, ckptPath: 'last' }).subscribe()   // resume it
 */
export const latestVersionDir = (fs: FileSystem, root: string): TE.TaskEither<FileError, string | undefined> =>
  pipe(
    versions(fs, root),
    TE.map((vs) => (vs.length === 0 ? undefined : `${root}/version_${Math.max(...vs)}`)),
  )
