import * as E from 'fp-ts/lib/Either.js'
import { parseManifest } from '../checkpoint/manifest.js'
import { resolveCheckpoint } from '../checkpoint/readCheckpoint.js'
import { hookEntry, type HookConfig } from '../config/hooksConfig.js'
import type { FileSystem } from '../effects/fileSystem.js'
import type { Metrics } from '../pipeline/events.js'

/*
 * result.json: how a run of `rxtrain fit` ended, written into its run folder at the end (also
 * when it was interrupted or failed). The sweep reads it to rank trials and to tell finished
 * ones from those to resume; the report shows it.
 */

/** The contents of result.json. */
export interface RunResult {
  readonly status: 'finished' | 'interrupted' | 'failed'
  /** fitEnd's reason (`maxEpochs`, `stopRequested`, `interrupted`, ...), or the error's tag. */
  readonly reason: string
  readonly error?: string
  readonly epoch: number
  readonly globalStep: number
  /** The last callback metrics (training values and the latest validation). */
  readonly metrics: Metrics
  /** The first monitored checkpoint hook's metric, and its best checkpoint. */
  readonly monitor?: string
  readonly mode?: 'min' | 'max'
  readonly best?: { readonly checkpoint: string; readonly score: number }
  readonly test?: Metrics
  readonly startedAt: string
  readonly endedAt: string
  readonly durationMs: number
  readonly backend: string
  readonly precision: string
  readonly versions: { readonly rxtrain: string; readonly tfjs: string }
}

/** The first checkpoint hook with a monitor: its metric, mode, folder and hook-state key (`checkpoint`, `checkpoint#2`, ...). */
export const monitoredCheckpoint = (hooks: readonly HookConfig[], runDir: string): { readonly monitor: string; readonly mode: 'min' | 'max'; readonly dir: string; readonly key: string } | undefined => {
  let n = 0
  for (const hook of hooks) {
    const { name, options } = hookEntry(hook)
    if (name !== 'checkpoint') continue
    n++
    const o = options as { readonly monitor?: string; readonly mode?: 'min' | 'max'; readonly dir?: string }
    if (o.monitor !== undefined) return { monitor: o.monitor, mode: o.mode ?? 'min', dir: o.dir ?? `${runDir}/checkpoints`, key: n === 1 ? 'checkpoint' : `checkpoint#${n}` }
  }
  return undefined
}

/** The best checkpoint of a monitored hook (its path and score), read from the checkpoint `best.json` points at. */
export const bestCheckpoint = async (fs: FileSystem, dir: string, key: string): Promise<{ readonly checkpoint: string; readonly score: number } | undefined> => {
  if (!(await fs.exists(`${dir}/best.json`)())) return undefined
  const path = await resolveCheckpoint(fs, `${dir}/best`)()
  if (E.isLeft(path)) return undefined
  const text = await fs.readText(`${path.right}/manifest.json`)()
  if (E.isLeft(text)) return undefined
  const manifest = parseManifest(text.right, `${path.right}/manifest.json`)
  if (E.isLeft(manifest)) return undefined
  const state = manifest.right.hooks?.[key] as { readonly kept?: readonly { readonly name: string; readonly score: number }[] } | undefined
  const name = path.right.slice(path.right.lastIndexOf('/') + 1)
  const score = state?.kept?.find((k) => k.name === name)?.score
  return score === undefined ? undefined : { checkpoint: path.right, score }
}

/** Writes result.json (atomically: a sweep reading it never sees half of one). */
export const writeRunResult = (fs: FileSystem, runDir: string, result: RunResult) => fs.writeFileAtomic(`${runDir}/result.json`, `${JSON.stringify(result, null, 2)}\n`)
