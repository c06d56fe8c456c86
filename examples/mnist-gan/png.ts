/**
 * A minimal PNG encoder for 8-bit grayscale images (what the GAN example writes): the signature,
 * an IHDR chunk, one zlib-deflated IDAT chunk of filter-0 scanlines, and IEND, each chunk with its
 * CRC-32 (the `crc-32` package). About forty lines instead of an image library.
 */
import { deflateSync } from 'node:zlib'
import CRC32 from 'crc-32'

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** One chunk: length, type, data, CRC-32 of type and data (big-endian). */
const chunk = (type: string, data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  out.set(Buffer.from(type, 'ascii'), 4)
  out.set(data, 8)
  view.setUint32(8 + data.length, CRC32.buf(out.subarray(4, 8 + data.length)) >>> 0)
  return out
}

/** A grayscale PNG of `width` x `height` pixels, `pixels` row by row (0 black, 255 white). */
export const encodeGrayPng = (pixels: Uint8Array, width: number, height: number): Uint8Array => {
  if (pixels.length !== width * height) throw new Error(`encodeGrayPng: ${pixels.length} pixels for ${width}x${height}`)
  const header = new Uint8Array(13)
  const view = new DataView(header.buffer)
  view.setUint32(0, width)
  view.setUint32(4, height)
  header.set([8, 0, 0, 0, 0], 8) // bit depth 8, colour type 0 (gray), deflate, filter 0, no interlace
  const raw = new Uint8Array(height * (width + 1))
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1) // filter byte 0
  const parts = [SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/**
 * `count` square images of `side` x `side` values in [0, 1] (one after another in `images`) laid
 * out `columns` to a row with `pad` black pixels between them, as one grayscale picture.
 */
export const gridPixels = (images: Float32Array, count: number, side: number, columns: number, pad = 2): { pixels: Uint8Array; width: number; height: number } => {
  const rows = Math.ceil(count / columns)
  const width = columns * side + (columns + 1) * pad
  const height = rows * side + (rows + 1) * pad
  const pixels = new Uint8Array(width * height)
  for (let i = 0; i < count; i++) {
    const ox = pad + (i % columns) * (side + pad)
    const oy = pad + Math.floor(i / columns) * (side + pad)
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++) {
        const v = images[i * side * side + y * side + x] ?? 0
        pixels[(oy + y) * width + ox + x] = Math.round(Math.min(1, Math.max(0, v)) * 255)
      }
  }
  return { pixels, width, height }
}
