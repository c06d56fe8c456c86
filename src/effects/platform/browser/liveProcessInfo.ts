import type { ProcessInfo } from '../../processInfo.js'

/** A page's name for itself in file names: the page's host name (or 'browser'), and pid 0. */
export const liveProcessInfo: ProcessInfo = {
  hostname: () => (typeof location === 'object' && location.hostname !== '' ? location.hostname : 'browser'),
  pid: () => 0,
}
