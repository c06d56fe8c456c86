/**
 * Who is writing: the host's name and the process id. Loggers put them in file names (as
 * TensorBoard's `events.out.tfevents.<time>.<host>.<pid>.<n>`) so that runs on several machines
 * or processes sharing a directory never write the same file. A run takes it from its `Env`
 * (`processInfo`); tests pass a fixed record.
 *
 * @example
 * const worker: effects.ProcessInfo = { hostname: () => `node-${process.env.RANK ?? 0}`, pid: () => process.pid }
 * fit(module, { train, val }, {}, { processInfo: worker }).pipe(tensorboard()).subscribe()
 */
export interface ProcessInfo {
  hostname(): string
  pid(): number
}

/**
 * A fixed host name and pid, for tests.
 *
 * @example
 * const fs = effects.memoryFileSystem()
 * const run = fit(module, { train, val }, { maxEpochs: 1 }, { fs, clock: effects.manualClock(0), processInfo: effects.fixedProcessInfo('host', 7) })
 * await lastValueFrom(run.pipe(tensorboard({ dir: 'tb' })))
 * await fs.list('tb')()   // Right(['events.out.tfevents.0.host.7.0']): a file name a test can expect
 */
export const fixedProcessInfo = (host = 'localhost', pid = 1): ProcessInfo => ({
  hostname: () => host,
  pid: () => pid,
})
