import * as E from 'fp-ts/lib/Either.js'
import { type RxtrainError, rxtrainError } from '../../../errors/rxtrainError.js'

/** A page has no installed packages to read files from: a `DataError` that says how a page gets them. */
export const packageFile = (pkg: string, relative: string): E.Either<RxtrainError<'DataError'>, string> =>
  E.left(
    rxtrainError(
      'DataError',
      `a browser cannot read ${relative} from the npm package ${pkg}: a page has no node_modules`,
      `serve the files with the page and read them over HTTP: effects.fetchFileSystem('/${pkg}/') (e.g. data.loadMnist(effects.fetchFileSystem('/mnist/'), '.')).`,
      { package: pkg },
    ),
  )
