import type { Clock } from '../effects/clock.js'
import type { HookContext } from './hookSpec.js'

/** Time spent in one phase: milliseconds (exclusive of the phases nested in it) and entries. */
export interface PhaseTime {
  readonly ms: number
  readonly calls: number
}

/** One kernel's time summed over the sampled steps (`tf.profile`). */
export interface KernelTime {
  readonly name: string
  readonly ms: number
  readonly calls: number
}

/**
 * Where a run's time goes, by phase (data loading, forward+backward, each hook ...). Time is
 * exclusive and telescoping: the clock is read at every phase boundary and the interval since the
 * last reading goes to the phase on top of the stack, so the phases (with the base phase, the
 * loop's own time) add up to the time since the clock started, by construction; what the named
 * phases miss shows as the base phase. Mutable: it lives in a run's flow, for the profiler.
 */
export interface PhaseClock {
  /** Runs `f` as phase `name`. */
  time<T>(name: string, f: () => T): T
  /** Enters phase `name`; the answer leaves it (once; out of order is tolerated). */
  enter(name: string): () => void
  /** Renames the base phase from here on (`setup` until the loop starts, then `loop`). */
  setBase(name: string): void
  /** Totals since the clock started, the base phase included, up to now. */
  totals(): ReadonlyMap<string, PhaseTime>
  /** Milliseconds since the clock started. */
  elapsed(): number
  /** Whether the steps numbered `globalStep` should be profiled per kernel (`advanced` mode). */
  readonly sampleKernels: (globalStep: number) => boolean
  /** Adds a sampled step's kernel times (they arrive once the device has run them). */
  addKernels(kernels: Promise<readonly { readonly name: string; readonly ms: number }[]>): void
  /** The kernels' times summed by kernel, slowest first, once every sample has arrived. */
  kernels(): Promise<readonly KernelTime[]>
}

export interface PhaseClockOptions {
  /** Profile every n-th optimizer step per kernel (0: never). */
  readonly kernelEvery: number
}

export const phaseClock = (clock: Pick<Clock, 'monotonic'>, options: PhaseClockOptions = { kernelEvery: 0 }): PhaseClock => {
  const start = clock.monotonic()
  let last = start
  const totals = new Map<string, { ms: number; calls: number }>()
  const kernels = new Map<string, { ms: number; calls: number }>()
  const samples: Promise<void>[] = []
  interface Frame {
    name: string
  }
  const stack: Frame[] = [{ name: 'setup' }]
  const charge = (): void => {
    const now = clock.monotonic()
    const top = stack[stack.length - 1] as Frame
    const t = totals.get(top.name) ?? { ms: 0, calls: 0 }
    t.ms += now - last
    totals.set(top.name, t)
    last = now
  }
  const enter = (name: string): (() => void) => {
    charge()
    const frame: Frame = { name }
    stack.push(frame)
    const t = totals.get(name) ?? { ms: 0, calls: 0 }
    t.calls++
    totals.set(name, t)
    let left = false
    return () => {
      if (left) return
      left = true
      charge()
      const at = stack.lastIndexOf(frame)
      if (at > 0) stack.splice(at, 1)
    }
  }
  return {
    time: (name, f) => {
      const leave = enter(name)
      try {
        return f()
      } finally {
        leave()
      }
    },
    enter,
    setBase: (name) => {
      charge()
      ;(stack[0] as Frame).name = name
    },
    totals: () => {
      charge()
      return new Map([...totals].map(([k, v]) => [k, { ...v }]))
    },
    elapsed: () => clock.monotonic() - start,
    sampleKernels: (step) => options.kernelEvery > 0 && step % options.kernelEvery === 0,
    addKernels: (sample) => {
      samples.push(
        sample.then(
          (ks) => {
            for (const k of ks) {
              const t = kernels.get(k.name) ?? { ms: 0, calls: 0 }
              t.ms += k.ms
              t.calls++
              kernels.set(k.name, t)
            }
          },
          // A sample whose timing failed is left out.
          () => undefined,
        ),
      )
    },
    kernels: async () => {
      await Promise.all(samples)
      return [...kernels].map(([name, v]) => ({ name, ...v })).sort((a, b) => b.ms - a.ms)
    },
  }
}

/**
 * Hooks that profile the run: a run whose pipe holds one keeps a phase clock (made with the
 * options given here) and times its loop, its step and each hook by it.
 */
const profiling = new WeakMap<object, PhaseClockOptions>()
const clocks = new WeakMap<HookContext, PhaseClock>()

/** Marks a hook spec as a profiler (before the run is subscribed). */
export const markProfiler = (spec: object, options: PhaseClockOptions): void => {
  profiling.set(spec, options)
}

/** The profiler options of a spec, if it is a profiler. */
export const profilerOptionsOf = (spec: object): PhaseClockOptions | undefined => profiling.get(spec)

/** Hands a profiler hook its run's phase clock (`claimFlow`). */
export const givePhaseClock = (ctx: HookContext, clock: PhaseClock): void => {
  clocks.set(ctx, clock)
}

/** The run's phase clock, for a profiler hook. */
export const phaseClockOf = (ctx: HookContext): PhaseClock | undefined => clocks.get(ctx)
