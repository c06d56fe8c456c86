import type { MonoTypeOperatorFunction } from 'rxjs'
import { orThrow } from '../errors/orThrow.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { hook } from '../flow/hook.js'
import { type HookEffect, perform, update } from '../flow/hookEffect.js'
import type { HookContext } from '../flow/hookSpec.js'
import { type KernelTime, markProfiler, type PhaseClock, phaseClockOf, type PhaseTime } from '../flow/phaseClock.js'
import type { FitEvent } from '../pipeline/events.js'

/** The file the run report reads as the profiler's table (`src/report/readRun.ts`, `PROFILER_FILE`). */
const PROFILER_FILE = 'profiler.json'

/**
 * The profiler's options (Lightning's `SimpleProfiler` / `AdvancedProfiler`).
 *
 * @example
 * const options: ProfilerOptions = { mode: 'advanced', kernelEvery: 20, dir: 'runs/mnist/version_0' }
 * fit(module, { train, val }, { maxEpochs: 2 }).pipe(profiler(options)).subscribe()
 */
export interface ProfilerOptions {
  /** `'simple'` (default): phases only; `'advanced'`: also per-kernel times from `tf.profile` on sampled steps. */
  readonly mode?: 'simple' | 'advanced'
  /** `'advanced'`: profile the kernels of every n-th optimizer step (the first one included). Default 50. */
  readonly kernelEvery?: number
  /**
   * The folder of `profiler.json`. Default: the run's `defaultRootDir` when one was given (not
   * `'.'`); `null`: no file, the tables are only printed.
   */
  readonly dir?: string | null
  /** Print a table at each epoch end too (default true); the whole run's is printed at the end. */
  readonly perEpoch?: boolean
}

/** One row of a profiler table (milliseconds; `percent` of the table's wall time). */
export interface ProfileRow {
  readonly action: string
  readonly meanMs: number
  readonly calls: number
  readonly totalMs: number
  readonly percent: number
}

interface ProfilerRun {
  /** Where profiler.json goes (undefined: nowhere). */
  readonly dir: string | undefined
  /** The totals at the last epoch end (the next epoch's table is the difference). */
  readonly mark: ReadonlyMap<string, PhaseTime>
  readonly epochs: readonly { readonly epoch: number; readonly wallMs: number; readonly rows: readonly ProfileRow[] }[]
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits))

/** Table rows from phase totals (largest first), with a leading `Total` row of the wall time they add up to. */
export const profileRows = (totals: ReadonlyMap<string, PhaseTime>): ProfileRow[] => {
  const wall = [...totals.values()].reduce((a, t) => a + t.ms, 0)
  const rows = [...totals]
    .filter(([, t]) => t.ms > 0 || t.calls > 0)
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([action, t]) => ({ action, meanMs: round(t.calls > 0 ? t.ms / t.calls : t.ms), calls: t.calls, totalMs: round(t.ms), percent: round(wall > 0 ? (100 * t.ms) / wall : 0, 2) }))
  return [{ action: 'Total', meanMs: round(wall), calls: 1, totalMs: round(wall), percent: 100 }, ...rows]
}

const since = (now: ReadonlyMap<string, PhaseTime>, mark: ReadonlyMap<string, PhaseTime>): Map<string, PhaseTime> =>
  new Map([...now].map(([k, t]) => [k, { ms: t.ms - (mark.get(k)?.ms ?? 0), calls: t.calls - (mark.get(k)?.calls ?? 0) }]))

/** Lightning's SimpleProfiler table: action, mean duration, calls, total time, percentage. */
export const formatProfile = (title: string, rows: readonly ProfileRow[]): string => {
  const head = ['Action', 'Mean duration (ms)', 'Num calls', 'Total time (ms)', 'Percentage %']
  const cells = rows.map((r) => [r.action, r.meanMs.toFixed(3), String(r.calls), r.totalMs.toFixed(3), r.percent.toFixed(2)])
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)))
  const line = (c: readonly string[]) => `|  ${c.map((x, i) => (i === 0 ? x.padEnd(widths[i] as number) : x.padStart(widths[i] as number))).join('  |  ')}  |`
  const rule = '-'.repeat(line(head).length)
  return [title, rule, line(head), rule, ...cells.map(line), rule].join('\n')
}

const kernelTable = (kernels: readonly KernelTime[], limit = 20): string => {
  const total = kernels.reduce((a, k) => a + k.ms, 0)
  const rows = kernels.slice(0, limit).map((k) => ({ action: k.name, meanMs: round(k.ms / k.calls), calls: k.calls, totalMs: round(k.ms), percent: round(total > 0 ? (100 * k.ms) / total : 0, 2) }))
  return formatProfile(`Kernels of the sampled steps (tf.profile; the ${Math.min(limit, kernels.length)} slowest of ${kernels.length})`, rows)
}

const runDir = (options: ProfilerOptions, e: Extract<FitEvent, { type: 'fitStart' }>): string | undefined =>
  options.dir === null ? undefined : (options.dir ?? (e.options.defaultRootDir !== '.' ? e.options.defaultRootDir : undefined))

const noClock = (): never => {
  throw rxtrainError('FlowError', 'profiler: the run has no phase clock', 'place profiler() directly in the pipe of fit(...), as any hook.')
}

/**
 * Lightning's `SimpleProfiler` as an operator: where a `fit` run's time went, by phase — setup,
 * sanity check, data loading, forward+backward, optimizer update, host reads (the step's read
 * back and release), validation, each hook by its place in the pipe (`hook 2 checkpoint`: its
 * reducer and the start of its effects; `hook 2 checkpoint (work)`: the loop waiting for the work
 * it started, e.g. a checkpoint write), and `loop` (the loop's own time, what no phase claims).
 * The phases' time is exclusive and adds up to the run's wall time (measured: README,
 * "Profiling"). A table is printed on the run's console at each epoch end and for the whole run
 * at the end, and written as `profiler.json` (the run report's table) in the run folder.
 * `mode: 'advanced'` adds per-kernel times from `tf.profile` on every `kernelEvery`-th step.
 *
 * Put it anywhere in the pipe: the run times every hook either way. Data-parallel runs (`ddp`)
 * time the step as a whole (`host reads`): the halves run in the workers.
 *
 * @example
 * fit(module, { train, val }, { maxEpochs: 3, defaultRootDir: 'runs/mnist/version_0' })
 *   .pipe(checkpoint(), csvLogger(), profiler())
 *   .subscribe()   // prints the tables; writes runs/mnist/version_0/profiler.json
 */
export const profiler = (options: ProfilerOptions = {}): MonoTypeOperatorFunction<FitEvent> => {
  const kernelEvery = options.mode === 'advanced' ? (options.kernelEvery ?? 50) : 0
  if (!Number.isInteger(kernelEvery) || kernelEvery < 0)
    throw rxtrainError('ConfigError', `profiler: kernelEvery is ${String(options.kernelEvery)}`, 'give kernelEvery as an integer >= 1 (profile every n-th step).', { field: 'kernelEvery' })
  const clockOf = (ctx: HookContext): PhaseClock => phaseClockOf(ctx) ?? noClock()
  const spec = {
    kind: 'profiler',
    on: ['fitStart', 'epochEnd', 'fitEnd'] as FitEvent['type'][],
    init: (): ProfilerRun => ({ dir: undefined, mark: new Map(), epochs: [] }),
    step: (s: ProfilerRun, e: FitEvent, ctx: HookContext): readonly [ProfilerRun] | readonly [ProfilerRun, HookEffect<ProfilerRun>[]] => {
      if (e.type === 'fitStart') return [{ ...s, dir: runDir(options, e) }]
      if (e.type === 'epochEnd') {
        const epoch = e.epoch
        return [
          s,
          [
            update(() => {
              const now = clockOf(ctx).totals()
              const rows = profileRows(since(now, s.mark))
              if (options.perEpoch !== false) ctx.env.console.out(formatProfile(`Profiler report: epoch ${epoch}`, rows))
              return [(r: ProfilerRun): ProfilerRun => ({ ...r, mark: now, epochs: [...r.epochs, { epoch, wallMs: rows[0]?.totalMs ?? 0, rows }] })]
            }),
          ],
        ]
      }
      if (e.type !== 'fitEnd') return [s]
      return [
        s,
        [
          perform(async () => {
            const clock = clockOf(ctx)
            const rows = profileRows(clock.totals())
            const kernels = kernelEvery > 0 ? await clock.kernels() : []
            ctx.env.console.out(formatProfile('Profiler report: the whole run', rows))
            if (kernelEvery > 0) ctx.env.console.out(kernels.length > 0 ? kernelTable(kernels) : 'Profiler: no step was sampled for kernel times.')
            if (s.dir === undefined) return
            const json = {
              wallMs: rows[0]?.totalMs ?? 0,
              rows,
              epochs: s.epochs,
              ...(kernelEvery > 0 && { kernelEvery, kernels: kernels.map((k) => ({ kernel: k.name, calls: k.calls, totalMs: round(k.ms), meanMs: round(k.ms / k.calls) })) }),
            }
            await orThrow(ctx.env.fs.mkdir(s.dir))
            await orThrow(ctx.env.fs.writeFileAtomic(`${s.dir}/${PROFILER_FILE}`, `${JSON.stringify(json, null, 2)}\n`))
          }),
        ],
      ]
    },
  }
  markProfiler(spec, { kernelEvery })
  return hook<ProfilerRun, FitEvent>(spec)
}
