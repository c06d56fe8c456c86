import { browserFileSystem } from '../../browserFileSystem.js'

/** A page's default file system: the Origin Private File System, or IndexedDB where it is missing (decided on first use). */
export const liveFileSystem = browserFileSystem()
