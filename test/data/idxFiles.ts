/** An IDX file: two zero bytes, the type byte, the rank, big-endian 32-bit dims, then the values. */
export const idxBytes = (dims: readonly number[], data: ArrayLike<number>, type = 0x08): Uint8Array => {
  const header = 4 + 4 * dims.length
  const out = new Uint8Array(header + data.length)
  const view = new DataView(out.buffer)
  view.setUint8(2, type)
  view.setUint8(3, dims.length)
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d))
  out.set(Array.from(data), header)
  return out
}

/** `count` synthetic 28x28 digits: every pixel of image i is (i * 20 + 3) % 256; label i % 10. */
export const syntheticMnist = (count: number) => ({
  images: idxBytes([count, 28, 28], Uint8Array.from({ length: count * 784 }, (_, j) => (Math.floor(j / 784) * 20 + 3) % 256)),
  labels: idxBytes([count], Uint8Array.from({ length: count }, (_, i) => i % 10)),
})
