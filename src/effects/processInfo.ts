import { hostname } from 'node:os'

/**
 * Who is writing: the host's name and the process id. Loggers put them in file names (as
 * TensorBoard's `events.out.tfevents.<time>.<host>.<pid>.<n>`) so that runs on several machines
 * or processes sharing a directory never write the same file. Tests pass a fixed record.
 */
export interface ProcessInfo {
  hostname(): string
  pid(): number
}

/** The live process's host name and pid. */
export const liveProcessInfo: ProcessInfo = {
  hostname: () => hostname(),
  pid: () => process.pid,
}

/** A fixed host name and pid, for tests. */
export const fixedProcessInfo = (host = 'localhost', pid = 1): ProcessInfo => ({
  hostname: () => host,
  pid: () => pid,
})
