// Node's file system; in a browser bundle, a stand-in whose every operation fails saying what to use there.
export { nodeFileSystem } from '#platform/nodeFileSystem.js'
