import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'

/** The error for a source that ends before the batch count it declared. */
export const sourceEndedEarly = (stage: string, declared: number | undefined, delivered: number): RxtrainError<'DataError'> =>
  rxtrainError(
    'DataError',
    `the ${stage} source declared ${declared} batches per pass but ended after ${delivered}`,
    'give the source its true numBatches (fromDataset: { numBatches }), or leave it undefined if unknown.',
    { stage, declared, delivered },
  )
