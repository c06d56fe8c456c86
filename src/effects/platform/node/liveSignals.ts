/** A run's default interrupts in Node: the process's SIGINT and SIGTERM. */
export { processSignals as liveSignals } from './processSignals.js'
