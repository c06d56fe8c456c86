/** A run's default file system in Node: the disk. */
export { nodeFileSystem as liveFileSystem } from './nodeFileSystem.js'
