import CRC32C from 'crc-32/crc32c.js'

/**
 * TFRecord framing, the container of TensorBoard event files. Each record is
 *
 *   uint64 length (little-endian) · uint32 masked CRC32C of those 8 bytes ·
 *   the data · uint32 masked CRC32C of the data
 *
 * as TensorFlow's `RecordWriter` writes it (tensorflow/core/lib/io/record_writer.h,
 * `crc32c::Mask`). The CRC is CRC-32C (Castagnoli), computed by the `crc-32` package.
 */

const MASK_DELTA = 0xa282ead8

/** CRC-32C (Castagnoli) of the bytes, as an unsigned 32-bit integer. */
export const crc32c = (data: Uint8Array): number => CRC32C.buf(data, 0) >>> 0

/** TensorFlow's CRC mask: rotate right by 15 bits, then add 0xa282ead8 (all uint32). */
export const maskCrc = (crc: number): number => ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0

/** The masked CRC-32C of the bytes, as TFRecord stores it. */
export const maskedCrc32c = (data: Uint8Array): number => maskCrc(crc32c(data))

/** One record in TFRecord framing (16 bytes of header and footer around the data). */
export const tfRecord = (data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(data.length + 16)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(data.length), true)
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true)
  out.set(data, 12)
  view.setUint32(12 + data.length, maskedCrc32c(data), true)
  return out
}

/** The concatenation of byte chunks. */
export const concatBytes = (chunks: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}
