import { type Env, liveEnv } from '../effects/env.js'
import { type ImportFile, importFile } from '../effects/importFile.js'

/**
 * What the config-driven commands touch the world through: the run environment (files, clock,
 * console, terminal, signals) and the importer of model, data and TypeScript config files. The
 * commands' exported instances use the live ones; tests build commands over their own.
 */
export interface RunDeps {
  readonly env: Env
  readonly importFile: ImportFile
}

export const liveRunDeps: RunDeps = { env: liveEnv, importFile }
