import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'

/**
 * Runs a `TaskEither` and turns its `Left` into a rejection: the one place where rxtrain leaves
 * fp-ts's errors-as-values for a Promise (hook effects and RxJS streams carry failures as
 * rejections and error notifications).
 *
 * @example
 * await orThrow(fs.mkdir('runs/x')) // rejects with the FileError
 */
export const orThrow = async <A>(task: TE.TaskEither<unknown, A>): Promise<A> =>
  E.getOrElse((error: unknown): A => {
    throw error
  })(await task())
