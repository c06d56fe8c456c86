import { messageOf } from '../errors/rxtrainError.js'

/**
 * Whether a dynamic `import(pkg)` failed because the package is not installed (rather than
 * installed and broken). rxtrain's optional peers (the webgpu and TensorFlow backends' packages)
 * are loaded only when a run asks for them, and a missing one is an install step to name, not a
 * crash to report.
 */
export const isMissingPackage = (e: unknown, pkg: string): boolean => {
  const code = (e as { code?: unknown } | null)?.code
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && messageOf(e).includes(pkg)
}
