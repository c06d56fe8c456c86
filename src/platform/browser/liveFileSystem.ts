// TODO(lead): browserFileSystem() once effects/browserFileSystem.ts lands.
export { nodeFileSystem as liveFileSystem } from './nodeFileSystem.js'
