// TODO(lead): pageSignals() once effects/pageSignals.ts lands.
export { processSignals as liveSignals } from './processSignals.js'
