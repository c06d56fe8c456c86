import type { ObservableInput } from 'rxjs'

/**
 * Each attached hook's resumable state, encoded by its codec, by the hook's key (what a checkpoint stores).
 *
 * @example
 * const loaded = await loadCheckpoint(effects.nodeFileSystem, 'runs/mnist/checkpoints/last')()
 * const states: HookStates = E.isRight(loaded) ? loaded.right.hookStates : {}
 * // { checkpoint: {...}, earlyStopping: { best: 0.093, wait: 1, ... } }: replay a hook from them
 * replayEvents(events, { hookStates: states }).pipe(earlyStopping({ monitor: 'val/loss' })).subscribe()
 */
export type HookStates = Readonly<Record<string, unknown>>

/**
 * What an event left behind once every hook in the pipe has handled it: the states of all hooks
 * (encoded), and the stop requested by any of them. A checkpoint written after the event
 * (`afterAll`) stores exactly this.
 *
 * @example
 * const report = (settled: Settled) => console.log(settled.stopReason ?? 'going on', Object.keys(settled.hookStates))
 * const reporter = hook<null, FitEvent>({ kind: 'reporter', on: ['epochEnd'], init: () => null, step: (s) => [s, [afterAll(report)]] })
 */
export interface Settled {
  readonly hookStates: HookStates
  readonly stopReason: string | undefined
}

/**
 * What a hook's reducer asks for, as data. The run interprets it: `stop` flows back to the loop,
 * `perform` and `update` start at once, `afterAll` starts once every hook has handled the event. The
 * loop does not go on to its next action before all of them have finished.
 *
 * @example
 * const onEpochEnd = (loss: number): HookEffect<number>[] =>
 *   Number.isFinite(loss) ? [perform(() => console.log(`loss ${loss}`))] : [stop('loss is not finite')]
 */
export type HookEffect<S> =
  | { readonly _tag: 'Stop'; readonly reason: string }
  | { readonly _tag: 'Perform'; readonly task: () => ObservableInput<unknown> | void }
  | { readonly _tag: 'Update'; readonly task: () => ObservableInput<(state: S) => S> }
  | { readonly _tag: 'AfterAll'; readonly task: (settled: Settled) => ObservableInput<unknown> | void }

/**
 * Asks the loop to stop (Lightning's `trainer.should_stop = True`). The loop honours it once
 * `minEpochs` and `minSteps` are met.
 *
 * @example
 * const step = (epochs: number, e: FitEvent): HookResult<number> =>
 *   e.type !== 'epochEnd' ? [epochs] : epochs + 1 >= 5 ? [epochs + 1, [stop('5 epochs')]] : [epochs + 1]
 * fit(module, { train, val }).pipe(hook({ kind: 'fiveEpochs', codec: t.number, init: () => 0, step })).subscribe()
 */
export const stop = <S = never>(reason: string): HookEffect<S> => ({ _tag: 'Stop', reason })

/**
 * Work to do now (a file write, a console line); the loop waits for it before its next action.
 *
 * @example
 * const announce = hook<null, FitEvent>({
 *   kind: 'announce',
 *   init: () => null,
 *   step: (s, e, ctx) => [s, e.type === 'epochEnd' ? [perform(() => ctx.env.fs.writeFile('runs/epoch.txt', String(e.epoch))())] : []],
 * })
 */
export const perform = <S = never>(task: () => ObservableInput<unknown> | void): HookEffect<S> => ({ _tag: 'Perform', task })

/**
 * Work whose result updates the hook's state when it finishes (e.g. rows read back from a log file on resume).
 *
 * @example
 * const readBest = (fs: FileSystem) =>
 *   update(async () => {
 *     const text = await fs.readText('runs/best.txt')()
 *     return (best: number) => (E.isRight(text) ? Math.min(best, Number(text.right)) : best)
 *   })
 * const bestSoFar = hook<number, FitEvent>({ kind: 'bestSoFar', init: () => Infinity, step: (best, e, ctx) => [best, e.type === 'fitStart' ? [readBest(ctx.env.fs)] : []] })
 */
export const update = <S>(task: () => ObservableInput<(state: S) => S>): HookEffect<S> => ({ _tag: 'Update', task })

/**
 * Work that starts once every hook has handled the event, given what they left (a checkpoint write).
 *
 * @example
 * const saveHookStates = hook<null, FitEvent>({
 *   kind: 'saveHookStates',
 *   on: ['epochEnd'],
 *   init: () => null,
 *   step: (s, _e, ctx) => [s, [afterAll((settled) => ctx.env.fs.writeFileAtomic('runs/hooks.json', JSON.stringify(settled.hookStates))())]],
 * })
 */
export const afterAll = <S = never>(task: (settled: Settled) => ObservableInput<unknown> | void): HookEffect<S> => ({ _tag: 'AfterAll', task })
