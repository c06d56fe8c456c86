import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { rxtrainError } from '../errors/rxtrainError.js'
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
 * Claims the next run directory under `root`, Lightning-style: `root/version_0`, `root/version_1`,
 * ... (one more than the highest present), and creates it. The claim is atomic (`createDir`): of
 * several runs started at once on one root, each gets a folder of its own; one that finds its
 * number taken tries the next.
 *
 * @example
 * const dir = await effects.nextVersionDir(effects.nodeFileSystem, 'runs/mnist-mlp')()   // Right('runs/mnist-mlp/version_3'), created
 * if (E.isRight(dir)) fit(module, { train, val }, { defaultRootDir: dir.right }).subscribe()
 */
export const nextVersionDir = (fs: FileSystem, root: string): TE.TaskEither<FileError, string> => {
  const claim = (v: number, triesLeft: number): TE.TaskEither<FileError, string> => {
    const dir = `${root}/version_${v}`
    return pipe(
      fs.createDir(dir),
      TE.chain((created) =>
        created
          ? TE.right(dir)
          : triesLeft > 0
            ? claim(v + 1, triesLeft - 1)
            : TE.left(rxtrainError('FileError', `no free run directory under ${root} after ${MAX_TRIES} tries (last: ${dir})`, 'remove old version_N folders, or give each run a root of its own.', { path: root })),
      ),
    )
  }
  return pipe(
    fs.mkdir(root),
    TE.chain(() => versions(fs, root)),
    TE.chain((vs) => claim(vs.length === 0 ? 0 : Math.max(...vs) + 1, MAX_TRIES)),
  )
}

/** How many taken numbers a claim steps over before it gives up (runs started at once on one root). */
const MAX_TRIES = 1000

/**
 * Every run directory under `root`, newest (highest number) first; none when `root` is absent.
 *
 * @example
 * const runs = await effects.versionDirs(effects.nodeFileSystem, 'runs/mnist-mlp')()   // Right(['runs/mnist-mlp/version_2', 'runs/mnist-mlp/version_0'])
 */
export const versionDirs = (fs: FileSystem, root: string): TE.TaskEither<FileError, string[]> =>
  pipe(
    versions(fs, root),
    TE.map((vs) => [...vs].sort((a, b) => b - a).map((v) => `${root}/version_${v}`)),
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
    versionDirs(fs, root),
    TE.map((dirs) => dirs[0]),
  )
