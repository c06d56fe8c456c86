import { hostname } from 'node:os'
import type { ProcessInfo } from '../../processInfo.js'

/**
 * The live process's host name and pid.
 *
 * @example
 * const { hostname, pid } = effects.liveProcessInfo
 * console.log(`${hostname()}.${pid()}`)   // 'gpu-box-3.41207'
 * liveEnv.processInfo === effects.liveProcessInfo   // true: a run's default
 */
export const liveProcessInfo: ProcessInfo = {
  hostname: () => hostname(),
  pid: () => process.pid,
}
