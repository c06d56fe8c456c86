import { basename, dirname } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { effects, type FileSystem, RxtrainError } from '../../src/index.js'

/** What `--resume` names: the run directory to continue in and the checkpoint to start from. */
export interface ResumeTarget {
  readonly runDir: string
  /** `fit`'s `ckptPath`: `'last'` (the run's own) or a checkpoint folder. */
  readonly ckptPath: string
}

const resumeError = (resume: string, problem: string, remedy: string): RxtrainError<'ConfigError'> =>
  new RxtrainError('ConfigError', `--resume ${resume}: ${problem}`, remedy, { field: 'resume', value: resume })

/**
 * Resolves `--resume`: `last` is the newest run under `root` that holds a `last` checkpoint (a run
 * that failed or stopped before its first checkpoint holds none, and is passed over); a run
 * directory continues from its own `last`; a checkpoint folder (one with a `manifest.json`)
 * continues from that checkpoint, in the run directory it belongs to. Anything else is a
 * `ConfigError` that says what was found, instead of a fresh run started silently.
 */
export const resumeTarget = async (fs: FileSystem, root: string, resume: string | undefined): Promise<ResumeTarget | undefined> => {
  if (resume === undefined) return undefined
  const hasLast = (runDir: string) => fs.exists(`${runDir}/checkpoints/last.json`)()
  if (resume === 'last') {
    const runs = await effects.versionDirs(fs, root)()
    for (const runDir of E.isRight(runs) ? runs.right : []) if (await hasLast(runDir)) return { runDir, ckptPath: 'last' }
    throw resumeError(resume, `no run under ${root} holds a last checkpoint to resume`, 'start a new run without --resume, or name a run directory or a checkpoint folder.')
  }
  if (await fs.exists(`${resume}/manifest.json`)()) {
    const folder = dirname(resume)
    return { runDir: basename(folder) === 'checkpoints' ? dirname(folder) : folder, ckptPath: resume }
  }
  if (await hasLast(resume)) return { runDir: resume, ckptPath: 'last' }
  throw resumeError(
    resume,
    (await fs.exists(resume)()) ? 'neither a run directory with a last checkpoint nor a checkpoint folder (no manifest.json)' : 'no such directory',
    `name a run directory (${root}/version_0), a checkpoint folder (${root}/version_0/checkpoints/last-epoch=1-step=860), or last.`,
  )
}
