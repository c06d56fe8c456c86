import type { Signals } from '../../signalTypes.js'
import { nextMacrotask } from '../../pageSignals.js'

const LET_IN_EVERY_MS = 50
let lastLetIn = performance.now()

/**
 * A page has no process signals: nothing is ever raised here (pages take their interrupts from
 * `effects.pageSignals()`, a page's default). It still lets the page in every 50 ms, so a loop
 * over in-memory data does not freeze the tab.
 */
export const processSignals: Signals = {
  onInterrupt: () => () => undefined,
  letIn: () => {
    const now = performance.now()
    if (now - lastLetIn < LET_IN_EVERY_MS) return undefined
    lastLetIn = now
    return nextMacrotask
  },
}
