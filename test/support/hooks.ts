import type { MonoTypeOperatorFunction, ObservableInput } from 'rxjs'
import { hook } from '../../src/flow/hook.js'
import { perform, stop } from '../../src/flow/hookEffect.js'
import type { FitEvent } from '../../src/pipeline/events.js'

/** A hook that asks the loop to stop at the first event matching `when`. */
export const stopWhen = (when: (e: FitEvent) => boolean, reason = 'test asked'): MonoTypeOperatorFunction<FitEvent> =>
  hook<boolean, FitEvent>({
    kind: 'stopWhen',
    init: () => false,
    step: (asked, e) => (!asked && when(e) ? [true, [stop(reason)]] : [asked]),
  })

/** A hook that starts `work` at events matching `when`; the run waits for it. */
export const workWhen = (when: (e: FitEvent) => boolean, work: (e: FitEvent) => ObservableInput<unknown> | void): MonoTypeOperatorFunction<FitEvent> =>
  hook<null, FitEvent>({
    kind: 'workWhen',
    init: () => null,
    step: (s, e) => (when(e) ? [s, [perform(() => work(e))]] : [s]),
  })
