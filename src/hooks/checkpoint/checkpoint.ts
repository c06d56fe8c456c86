import { defer, type MonoTypeOperatorFunction, throwError } from 'rxjs'
import { storageDtypeOf } from '../../backends/precision.js'
import { rxtrainError } from '../../errors/rxtrainError.js'
import { hook } from '../../flow/hook.js'
import { afterAll, type HookEffect, update } from '../../flow/hookEffect.js'
import type { HookContext, HookResult, HookSpec } from '../../flow/hookSpec.js'
import type { EpochEnd, FitEnd, FitEvent, FitStart, TrainStep, ValidationEnd } from '../../pipeline/events.js'
import { type CheckpointOptions, validateCheckpointOptions } from './checkpointOptions.js'
import { prepareCheckpointDir, sharedDirError } from './checkpointDir.js'
import { formatCheckpointName } from './filename.js'
import { interruptSaver } from './interruptSaver.js'
import { type CheckpointHook, type CheckpointRun, checkpointHookCodec, freshCheckpointHook } from './hookState.js'
import { saveCheckpoint } from './saveCheckpoint.js'
import { admit, admits, isBetter, type Mode, ranked, type Scored } from './topK.js'
import { orThrow } from '../../errors/orThrow.js'

export type { CheckpointOptions } from './checkpointOptions.js'
export { type CheckpointHookState, CheckpointHookStateCodec, checkpointHookState } from './hookState.js'
export { isBetter }

type Savable = TrainStep | ValidationEnd | EpochEnd | FitEnd

/**
 * Saves checkpoints as training runs (Lightning's `ModelCheckpoint`), as an operator: place it in
 * `pipe(...)`. The run waits for a save before its next step, so a checkpoint is the state of
 * that exact step; it is written once every hook in the pipe has handled the event, so it holds
 * all their states (and a stop one of them asked for then). It is written atomically (see
 * `writeCheckpoint`) into the run's file system (`fit(..., { fs })`), then `last.json` /
 * `best.json` pointers move, and only then are checkpoints that fell out of the top k deleted.
 * `fit(..., { ckptPath })` resumes from one exactly; a resumed run first removes the checkpoints
 * that this hook wrote in the run (its lineage) and that the restored state no longer counts (a
 * kill between a save and its pruning leaves them; see `reconcileCheckpointDir`), never anything
 * else in the folder. A second checkpoint hook in one pipe keeps its state under `checkpoint#2`
 * and needs a `dir` of its own; on an interrupt only one of them saves (see `interruptSaver`).
 *
 * @example
 * fit(module, { train, val }, { maxEpochs: 10, defaultRootDir: 'runs/mnist' }).pipe(
 *   checkpoint({ monitor: 'val/loss', mode: 'min', saveTopK: 3, saveLast: true, filename: '{epoch}-{val/loss:.4f}' }),
 * )
 */
export const checkpoint = (options: CheckpointOptions = {}): MonoTypeOperatorFunction<FitEvent> => {
  validateCheckpointOptions(options)
  const mode: Mode = options.mode ?? 'min'
  const topK = options.saveTopK ?? 1
  const template = options.filename ?? '{epoch}-{step}'
  const autoInsert = options.autoInsertMetricName ?? true
  const saveOnInterrupt = options.saveOnInterrupt ?? true
  const everyNEpochs = options.everyNEpochs ?? (options.everyNTrainSteps === undefined && options.trainTimeInterval === undefined ? 1 : 0)
  const epochDue = (epoch: number): boolean => everyNEpochs >= 1 && (epoch + 1) % everyNEpochs === 0

  /** Which checkpoint to write for `e` (if any), the state after it, and the write. */
  const save = (s: CheckpointHook, r: CheckpointRun, e: Savable, forceLast: boolean, ctx: HookContext): HookResult<CheckpointHook> => {
    if (r.fastDevRun) return [s]
    const metrics = r.metrics
    const values = { ...metrics, epoch: e.epoch, step: e.globalStep }
    const taken = new Set(r.taken)
    const uniqueName = (base: string): string => {
      let name = base
      for (let v = 1; taken.has(name); v++) name = `${base}-v${v}`
      taken.add(name)
      return name
    }
    let written: string | undefined
    let evicted: string[] = []
    let kept: readonly Scored[] = s.kept
    if (!forceLast && topK !== 0) {
      if (options.monitor === undefined) {
        written = uniqueName(formatCheckpointName(template, values, autoInsert))
        const entry = { name: written, score: e.globalStep }
        if (topK === -1) kept = [...kept, entry]
        else {
          evicted = kept.map((k) => k.name)
          kept = [entry]
        }
      } else {
        const score = metrics[options.monitor]
        if (score === undefined) {
          if (r.validated)
            throw rxtrainError(
              'ConfigError',
              `checkpoint monitor '${options.monitor}' was not logged`,
              `log it from a step, or monitor one of: ${Object.keys(metrics).sort().join(', ')}.`,
              { monitor: options.monitor },
            )
        } else if (admits(kept, topK, score, mode)) {
          written = uniqueName(formatCheckpointName(template, values, autoInsert))
          const admitted = admit(kept, topK, { name: written, score }, mode)
          kept = admitted.kept
          if (admitted.evicted !== undefined) evicted = [admitted.evicted]
        }
      }
    }
    const wantsLast = options.saveLast === true || forceLast
    // A checkpoint kept only as `last` is named like Lightning's last.ckpt, without the
    // template (whose metrics may not be logged yet, e.g. when interrupted early).
    if (written === undefined && wantsLast) written = uniqueName(`last-${formatCheckpointName('{epoch}-{step}', values)}`)
    if (written === undefined) return [s]
    const name = written
    const best = options.monitor === undefined ? (kept.at(-1)?.name ?? null) : (ranked(kept, mode)[0]?.name ?? null)
    const last = wantsLast ? name : s.last
    const run = { ...r, taken }
    // An interrupt's save is extra: the schedule's own save at this step still happens after resuming.
    const next: CheckpointHook = forceLast ? { ...s, last, run } : { ...s, kept, best, last, lastGlobalStepSaved: e.globalStep, lastTimeSaved: e.time, run }
    const keep = new Set([...kept.map((k) => k.name), ...(last === null ? [] : [last]), ...(best === null ? [] : [best])])
    const prune = [...new Set([...evicted, ...(s.last !== null && s.last !== last ? [s.last] : [])])].filter((n) => !keep.has(n))
    const actions = { pointLast: wantsLast, pointBest: best !== null && best === name, prune }
    const precision = r.options.precision
    const meta = { epoch: e.epoch, step: e.globalStep, monitor: options.monitor ?? null, score: options.monitor === undefined ? null : (metrics[options.monitor] ?? null), event: e.type }
    // Written once every hook has handled the event: the hook states it stores are current.
    const write = afterAll<CheckpointHook>((settled) =>
      orThrow(
        saveCheckpoint(
          ctx.env.fs,
          r.dir,
          name,
          {
            state: e.state,
            weightsOnly: options.saveWeightsOnly === true,
            // A stop requested while this event was handled (early stopping) belongs to this state.
            loop: { ...e.loop, stopReason: settled.stopReason ?? e.loop.stopReason },
            hookStates: settled.hookStates,
            options: r.options,
            ...(r.hparams !== undefined && { hparams: r.hparams }),
            precision: { name: precision, storageDtype: options.dtype ?? storageDtypeOf(precision) },
            meta,
            createdAt: new Date(e.time).toISOString(),
          },
          actions,
        ),
      ),
    )
    return [next, [write]]
  }

  /**
   * Learns how this run saves, prepares the directory (the run waits for it), checks that no other
   * checkpoint hook writes there, and learns whether it is the one that saves on an interrupt.
   */
  const start = (s: CheckpointHook, e: FitStart, ctx: HookContext, role: { saver: boolean }): HookResult<CheckpointHook> => {
    const plan = e.plan
    const metrics = { ...(e.resumed?.loop.lastValidation ?? {}) }
    const onTrainEpochEnd =
      options.saveOnTrainEpochEnd ??
      (plan.checkValEveryNEpoch !== 1 ? false : plan.numValBatches === 0 ? true : !Number.isFinite(plan.valCheckBatch) || plan.valCheckBatch >= plan.numTrainBatches)
    const dir = options.dir ?? `${e.options.defaultRootDir}/checkpoints`
    const onInterrupt = !saveOnInterrupt ? 'off' : options.saveLast === true ? 'saveLast' : 'save'
    const run: CheckpointRun = { dir, fastDevRun: plan.fastDevRun, onTrainEpochEnd, options: e.options, ...(e.hparams !== undefined && { hparams: e.hparams }), startTime: e.time, taken: new Set(), metrics, validated: Object.keys(metrics).length > 0, onInterrupt }
    const checkDir = afterAll<CheckpointHook>((settled) => {
      role.saver = interruptSaver(settled.hookStates) === ctx.key
      const shared = sharedDirError(settled.hookStates, ctx.key, dir)
      return shared === undefined ? undefined : throwError(() => shared)
    })
    // A resumed run goes on with the lineage of its checkpoint; a new one starts its own.
    const next: CheckpointHook = { ...s, lineage: s.lineage ?? `${e.time}`, run }
    if (plan.fastDevRun) return [next, [checkDir]]
    // What a kill left that the restored state no longer counts (checkpoints of this hook's lineage only).
    const own =
      e.resumed !== undefined && s.lineage !== undefined
        ? { key: ctx.key, lineage: s.lineage, kept: s.kept.map((k) => k.name), last: s.last, best: s.best, from: e.resumed.from, fromStep: e.resumed.loop.globalStep }
        : undefined
    // Learn the names already there (never overwrite one) and clear what crashed runs left half-written.
    const prepare: HookEffect<CheckpointHook> = update(() =>
      orThrow(prepareCheckpointDir(ctx.env.fs, dir, own)).then((taken) => (state: CheckpointHook) => (state.run === undefined ? state : { ...state, run: { ...state.run, taken } })),
    )
    return [next, [prepare, checkDir]]
  }

  const spec = (role: { saver: boolean }): HookSpec<CheckpointHook, FitEvent> => ({
    kind: 'checkpoint',
    // Every step, validation and epoch end: they carry the metrics that rank and name checkpoints.
    on: ['fitStart', 'trainStep', 'validationEnd', 'epochEnd', ...(saveOnInterrupt ? (['fitEnd'] as const) : [])],
    codec: checkpointHookCodec,
    init: () => freshCheckpointHook,
    step: (s, e, ctx) => {
      if (e.type === 'fitStart') return start(s, e, ctx, role)
      const r = s.run
      if (r === undefined) return [s]
      switch (e.type) {
        case 'trainStep': {
          const run = { ...r, metrics: { ...r.metrics, ...e.metrics } }
          const next = { ...s, run }
          if (!e.optimizerStepped || e.globalStep === s.lastGlobalStepSaved) return [next]
          const byStep = options.everyNTrainSteps !== undefined && options.everyNTrainSteps >= 1 && e.globalStep % options.everyNTrainSteps === 0
          const byTime = options.trainTimeInterval !== undefined && e.time - (s.lastTimeSaved ?? r.startTime) >= options.trainTimeInterval
          return byStep || byTime ? save(next, run, e, false, ctx) : [next]
        }
        case 'validationEnd': {
          const run = { ...r, metrics: { ...r.metrics, ...e.metrics }, validated: true }
          const next = { ...s, run }
          return !run.onTrainEpochEnd && epochDue(e.epoch) && e.globalStep !== s.lastGlobalStepSaved ? save(next, run, e, false, ctx) : [next]
        }
        case 'epochEnd': {
          const run = { ...r, metrics: { ...r.metrics, ...e.callbackMetrics } }
          const next = { ...s, run }
          return run.onTrainEpochEnd && epochDue(e.epoch) && e.globalStep !== s.lastGlobalStepSaved ? save(next, run, e, false, ctx) : [next]
        }
        case 'fitEnd':
          return e.reason === 'interrupted' && saveOnInterrupt && role.saver ? save(s, r, e, true, ctx) : [s]
        default:
          return [s]
      }
    },
  })
  // Per run: whether this hook is the one that saves on an interrupt, learned once every hook has handled fitStart.
  return (source) => defer(() => source.pipe(hook(spec({ saver: true }))))
}
