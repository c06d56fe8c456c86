import { isAbsolute } from 'node:path'
import { pathToFileURL } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { messageOf, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'

/**
 * Loading code named by a config (`model: { module: ./model.ts }`, an `rxtrain.config.ts`): an
 * absolute file path or a package name to its module namespace, or a `ConfigError` that says
 * why not. TypeScript files load through tsx (an optional peer: imported only when a TypeScript
 * file is asked for, and registered once), so models need no build step.
 */
export type ImportFile = (specifier: string) => TE.TaskEither<RxtrainError<'ConfigError'>, Readonly<Record<string, unknown>>>

const TYPESCRIPT = /\.(ts|mts|cts|tsx)$/

/**
 * Whether this process already loads TypeScript: started with tsx (`node --import tsx`, the tsx
 * command, NODE_OPTIONS), under vitest, or registered here before. Registering tsx a second time
 * over its own hooks breaks module loading, so it is registered only when none of these holds.
 */
let registered = false
const typescriptLoads = (): boolean =>
  registered ||
  [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => /(^|[\\/=@])tsx([\\/]|$|\/esm)/.test(a) || a === 'tsx') ||
  ((globalThis as Record<symbol, unknown>)[Symbol.for('tsx:global-cjs-loader-count')] as number | undefined ?? 0) > 0 ||
  process.env.VITEST !== undefined

/**
 * How TypeScript becomes loadable: whether it already is, and registering tsx's ESM hooks
 * (false: tsx is not installed).
 */
export interface TypeScriptLoader {
  readonly loads: () => boolean
  readonly register: () => Promise<boolean>
}

const registerTsx = async (): Promise<boolean> => {
  try {
    // An optional peer: a dynamic import, so that rxtrain runs without it until a .ts file is named.
    const api = (await import('tsx/esm/api')) as { readonly register: () => unknown }
    api.register()
    registered = true
    return true
  } catch {
    return false
  }
}

/** tsx, registered on demand. */
export const tsxLoader: TypeScriptLoader = { loads: typescriptLoads, register: registerTsx }

const importError = (specifier: string, e: unknown): RxtrainError<'ConfigError'> => {
  const code = (e as { readonly code?: unknown } | null)?.code
  if ((code === 'ERR_MODULE_NOT_FOUND' && messageOf(e).includes(specifier)) || code === 'ERR_UNSUPPORTED_DIR_IMPORT')
    return rxtrainError('ConfigError', `cannot load ${specifier}: there is no such module`, 'check the path (module paths are relative to the config file\'s folder) or install the package.', { module: specifier })
  return rxtrainError('ConfigError', `cannot load ${specifier}: ${messageOf(e).split('\n')[0]}`, 'fix the module so that it loads (node --import tsx <file> shows the full error).', { module: specifier })
}

/**
 * The importer: `typescript` makes TypeScript loadable when it is not yet (tsx by default;
 * tests pass one that says it is missing).
 *
 * @example
 * const load = effects.fileImporter()
 * const mod = await load('/home/me/project/model.ts')()   // Right({ mlp: ..., default: ... })
 */
export const fileImporter =
  (typescript: TypeScriptLoader = tsxLoader): ImportFile =>
  (specifier) =>
  async () => {
    if (TYPESCRIPT.test(specifier) && !typescript.loads()) {
      if (!(await typescript.register()))
        return E.left(
          rxtrainError(
            'ConfigError',
            `${specifier} is TypeScript, and loading TypeScript without a build step needs tsx, which is not installed`,
            'install it (npm install --save-dev tsx), or compile the file and name the .js file instead.',
            { module: specifier, missing: 'tsx' },
          ),
        )
    }
    try {
      const url = isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier
      return E.right((await import(url)) as Readonly<Record<string, unknown>>)
    } catch (e) {
      return E.left(importError(specifier, e))
    }
  }

/** The live importer (tsx for TypeScript). */
export const importFile: ImportFile = fileImporter()
