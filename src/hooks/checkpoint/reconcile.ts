import * as E from 'fp-ts/lib/Either.js'
import type * as T from 'fp-ts/lib/Task.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { MANIFEST_FILE, parseManifest } from '../../checkpoint/manifest.js'
import { writePointer } from '../../checkpoint/writeCheckpoint.js'
import type { FileError, FileSystem } from '../../effects/fileSystem.js'
import { removeCheckpoint } from './saveCheckpoint.js'

/** What a checkpoint hook restored from a checkpoint knows of its directory. */
export interface OwnCheckpoints {
  /** The hook's key (`checkpoint`, `checkpoint#2` ...): where its state is in a checkpoint's manifest. */
  readonly key: string
  /** The lineage its checkpoints carry (see `CheckpointHook`). */
  readonly lineage: string
  /** The checkpoints its restored state counts, and those its pointers name. */
  readonly kept: readonly string[]
  readonly last: string | null
  readonly best: string | null
  /** The checkpoint the run resumes from (never removed), and its optimizer step. */
  readonly from: string
  readonly fromStep: number
}

const pointerTarget =
  (fs: FileSystem, dir: string, pointer: 'last' | 'best'): T.Task<string | undefined> =>
  async () => {
    const text = await fs.readText(`${dir}/${pointer}.json`)()
    if (E.isLeft(text)) return undefined
    try {
      const { checkpoint } = JSON.parse(text.right) as { checkpoint?: unknown }
      return typeof checkpoint === 'string' ? checkpoint : undefined
    } catch {
      return undefined
    }
  }

/**
 * Whether `dir/name` is a checkpoint that the hook wrote into `dir` in this lineage: its manifest
 * holds the hook's state under its key, with this lineage and this directory (anything else is
 * not, also a checkpoint of another hook of the same run: hooks that trade places trade keys).
 */
const ownStep =
  (fs: FileSystem, dir: string, name: string, own: OwnCheckpoints): T.Task<number | undefined> =>
  async () => {
    const path = `${dir}/${name}/${MANIFEST_FILE}`
    const text = await fs.readText(path)()
    if (E.isLeft(text)) return undefined
    const manifest = parseManifest(text.right, path)
    if (E.isLeft(manifest)) return undefined
    const state = manifest.right.hooks?.[own.key]
    if (typeof state !== 'object' || state === null) return undefined
    const { lineage, dir: written } = state as { lineage?: unknown; dir?: unknown }
    return lineage === own.lineage && written === dir ? (manifest.right.loop?.globalStep ?? 0) : undefined
  }

/** Whether the run resumes from the newest checkpoint of its folder (the one its `last.json` names). */
const resumesFromNewest = async (fs: FileSystem, from: string): Promise<boolean> => {
  const slash = from.lastIndexOf('/')
  return (await pointerTarget(fs, from.slice(0, Math.max(slash, 0)), 'last')()) === from.slice(slash + 1)
}

/**
 * Makes a checkpoint directory agree with the hook state a run resumed from: a kill between
 * renaming a new checkpoint into place, moving the pointers and pruning the old ones leaves
 * checkpoints that no state counts any more (the new one, if the pointers did not move yet; the
 * pruned ones, if they did). Removes the checkpoints that the hook itself wrote in this lineage
 * and that its restored state does not count (when the run rewinds to a checkpoint older than its
 * folder's `last`, only those not written after it), after pointing `last.json`
 * and `best.json` at the state's own (or removing a pointer that names a removed one, when the
 * state's own is not there), so that no pointer ever names a missing checkpoint. Files and folders
 * of anyone else (the user's, another run's, another hook's) are never touched. `names` lists the directory.
 */
export const reconcileCheckpointDir =
  (fs: FileSystem, dir: string, names: readonly string[], own: OwnCheckpoints): TE.TaskEither<FileError, void> =>
  async () => {
    const present = new Set(names)
    const counted = new Set([...own.kept, ...(own.last === null ? [] : [own.last]), ...(own.best === null ? [] : [own.best])])
    // A run that goes on from its newest checkpoint (`last`, what a kill leaves) removes all it does
    // not count: what it writes next replaces them. One rewound to an older checkpoint keeps the
    // later ones, as Lightning does (they are the user's results; new ones get `-v1` names).
    const continues = await resumesFromNewest(fs, own.from)
    const stale: string[] = []
    for (const name of names) {
      if (name.startsWith('.') || name.endsWith('.json') || counted.has(name) || `${dir}/${name}` === own.from) continue
      const step = await ownStep(fs, dir, name, own)()
      if (step !== undefined && (continues || step <= own.fromStep)) stale.push(name)
    }
    for (const pointer of ['last', 'best'] as const) {
      const target = own[pointer]
      const current = await pointerTarget(fs, dir, pointer)()
      const fixed =
        target !== null && present.has(target)
          ? current === target
            ? undefined
            : writePointer(fs, dir, pointer, target)
          : current !== undefined && stale.includes(current)
            ? fs.remove(`${dir}/${pointer}.json`)
            : undefined
      const done = fixed === undefined ? E.right(undefined) : await fixed()
      if (E.isLeft(done)) return done
    }
    for (const name of stale) {
      const removed = await removeCheckpoint(fs, dir, name)()
      if (E.isLeft(removed)) return removed
    }
    return E.right(undefined)
  }
