import { pageSignals } from '../../pageSignals.js'

/** A page's default interrupts: `pagehide` and the tab turning hidden, as SIGTERM; it also lets the page paint during a run. */
export const liveSignals = pageSignals()
