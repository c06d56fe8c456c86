import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { describe } from '../pipeline/optionTypes.js'
import type { Trial } from './expand.js'

/*
 * The sweep's record of its trials (`sweep.json` in the sweep's folder): which trials exist,
 * with their values and configs. A re-run compares its own trials with it, so that a folder of
 * one sweep is never silently reused for another.
 */

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

/** JSON with object keys sorted: equal configs give equal text, whatever their key order. */
export const canonicalJson = (u: unknown): string =>
  JSON.stringify(u, (_k, v: unknown) => (isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v))

/** A trial with the config it runs. */
export interface PlannedTrial extends Trial {
  readonly config: unknown
}

const StateTrialCodec = t.type({ id: t.string, index: t.number, values: t.record(t.string, t.unknown), config: t.unknown })

/** `sweep.json`: the sweep file it came from and its trials. */
export const SweepStateCodec = t.type({ version: t.literal(1), sweepFile: t.string, trials: t.array(StateTrialCodec) })
export type SweepState = t.TypeOf<typeof SweepStateCodec>

/** The state a sweep writes for its trials. */
export const sweepState = (sweepFile: string, trials: readonly PlannedTrial[]): SweepState => ({
  version: 1,
  sweepFile,
  trials: trials.map(({ id, index, values, config }) => ({ id, index, values: { ...values }, config })),
})

/** How a trial differs from the one of the same number in the folder, in words (undefined: the same). */
const difference = (before: SweepState['trials'][number], now: PlannedTrial): string | undefined => {
  const paths = [...new Set([...Object.keys(before.values), ...Object.keys(now.values)])]
  const changed = paths.filter((p) => canonicalJson(before.values[p]) !== canonicalJson(now.values[p]))
  if (changed.length > 0) return `${now.id} had ${changed.map((p) => `${p}=${describe(before.values[p])}`).join(', ')}, now ${changed.map((p) => `${p}=${describe(now.values[p])}`).join(', ')}`
  if (canonicalJson(before.config) !== canonicalJson(now.config)) return `${now.id} has the same values but its base config changed`
  return undefined
}

/**
 * Checks that the trials planned now are those of the sweep whose folder this is: every trial
 * the folder already has must have the same values and config now (more trials may be added, as
 * when a random search's `trials` grows). The state to write next, or a ConfigError saying what
 * changed and what to do.
 *
 * @example
 * reconcileState(undefined, planned, 'sweep.yaml', 'runs/mlp-sweep')   // Right: a new sweep
 */
export const reconcileState = (
  previous: SweepState | undefined,
  planned: readonly PlannedTrial[],
  sweepFile: string,
  sweepDir: string,
): E.Either<RxtrainError<'ConfigError'>, SweepState> => {
  const next = sweepState(sweepFile, planned)
  if (previous === undefined) return E.right(next)
  const byId = new Map(planned.map((p) => [p.id, p]))
  const changes = previous.trials.flatMap((before) => {
    const now = byId.get(before.id)
    const d = now === undefined ? undefined : difference(before, now)
    return d === undefined ? [] : [d]
  })
  if (changes.length > 0)
    return E.left(
      rxtrainError(
        'ConfigError',
        `${sweepDir} holds the trials of another sweep spec: ${changes.slice(0, 3).join('; ')}${changes.length > 3 ? `; and ${changes.length - 3} more` : ''}`,
        `give this sweep a folder of its own (name: in the sweep file, or --name), or remove ${sweepDir} to start it over.`,
        { path: sweepDir, changes },
      ),
    )
  // Trials of the folder that the spec no longer has (a random search cut shorter) stay listed.
  const kept = previous.trials.filter((p) => !byId.has(p.id))
  return E.right({ ...next, trials: [...next.trials, ...kept].sort((a, b) => a.index - b.index) })
}

/** What a re-run does with a trial, from what its folder holds. */
export type TrialAction = 'skip' | 'resume' | 'fresh'

/** What a trial's folder says about it: its result's status (if it wrote one) and whether it has a `last` checkpoint. */
export interface TrialFacts {
  readonly status: string | undefined
  readonly hasLast: boolean
}

/**
 * Finished trials are skipped; interrupted ones (or ones killed before they could write a
 * result) continue from their `last` checkpoint when they have one; failed ones, and those with
 * nothing to continue from, start over in an emptied folder.
 *
 * @example
 * trialAction({ status: 'interrupted', hasLast: true })   // 'resume'
 * trialAction({ status: 'failed', hasLast: true })        // 'fresh'
 */
export const trialAction = (facts: TrialFacts): TrialAction => {
  if (facts.status === 'finished') return 'skip'
  if (facts.status !== 'failed' && facts.hasLast) return 'resume'
  return 'fresh'
}
