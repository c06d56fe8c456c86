import { type FileError, fileError } from './fileSystem.js'

/**
 * A path as the names of its folders and file: `'runs/./x//y/../z'` -> `['runs', 'x', 'z']`.
 * Browser stores (OPFS, IndexedDB) have one root per origin, so a leading `/` means the same
 * as none: `'/runs/x'` and `'runs/x'` are one place.
 */
export const pathSegments = (path: string): string[] => {
  const parts: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') parts.pop()
    else parts.push(part)
  }
  return parts
}

/** The system error code a browser's DOMException name stands for, so `fileError` picks the same remedy as on disk. */
const codeOf = (name: string): string | undefined => {
  switch (name) {
    case 'NotFoundError':
      return 'ENOENT'
    case 'TypeMismatchError':
      return 'ENOTDIR'
    case 'QuotaExceededError':
      return 'ENOSPC'
    case 'SecurityError':
    case 'NotAllowedError':
      return 'EACCES'
    default:
      return undefined
  }
}

/** A `FileError` for a failed browser storage call, its DOMException name kept in the message and mapped to a code. */
export const browserFileError = (operation: string, path: string, cause: unknown): FileError => {
  const name = (cause as { name?: unknown } | null)?.name
  const message = (cause as { message?: unknown } | null)?.message
  if (typeof name !== 'string' || name === 'Error' || name === 'RxtrainError') return fileError(operation, path, cause)
  const code = codeOf(name)
  return fileError(operation, path, new StoreFailure(`${name}: ${String(message ?? '')}`, code))
}

/** A failure this module decides on (no such folder, a file in the way), thrown inside an operation and reported as a `FileError`. */
export class StoreFailure extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

/** Throws a `StoreFailure`; an expression, for `?? fail(...)`. */
export const failWith = (message: string, code?: string): never => {
  throw new StoreFailure(message, code)
}

/** The error a `StoreFailure` or a browser exception becomes. */
export const toFileError = (operation: string, path: string, cause: unknown): FileError =>
  cause instanceof StoreFailure ? fileError(operation, path, cause) : browserFileError(operation, path, cause)
