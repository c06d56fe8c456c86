import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inflateSync } from 'node:zlib'
import CRC32 from 'crc-32'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { main } from '../../examples/mnist-gan/main.js'
import { encodeGrayPng, gridPixels } from '../../examples/mnist-gan/png.js'

const runs = mkdtempSync(join(tmpdir(), 'rxtrain-gan-'))
const printed: string[] = []
beforeAll(() => {
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void printed.push(String(line)))
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
})
afterAll(() => {
  vi.restoreAllMocks()
  rmSync(runs, { recursive: true, force: true })
})

/** The chunks of a PNG file: type and data, each CRC checked. */
const chunksOf = (png: Uint8Array): { type: string; data: Uint8Array }[] => {
  expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength)
  const out: { type: string; data: Uint8Array }[] = []
  for (let at = 8; at < png.length; ) {
    const length = view.getUint32(at)
    const type = Buffer.from(png.subarray(at + 4, at + 8)).toString('ascii')
    expect(view.getUint32(at + 8 + length), `${type} CRC`).toBe(CRC32.buf(png.subarray(at + 4, at + 8 + length)) >>> 0)
    out.push({ type, data: png.subarray(at + 8, at + 8 + length) })
    at += 12 + length
  }
  return out
}

describe('the GAN example', () => {
  it('encodes a grayscale PNG that a decoder reads back pixel for pixel', () => {
    const pixels = Uint8Array.from([0, 64, 128, 255, 1, 2])
    const chunks = chunksOf(encodeGrayPng(pixels, 3, 2))
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND'])
    const header = new DataView(chunks[0]!.data.buffer, chunks[0]!.data.byteOffset, 13)
    expect([header.getUint32(0), header.getUint32(4), header.getUint8(8), header.getUint8(9)]).toEqual([3, 2, 8, 0])
    expect(Array.from(inflateSync(chunks[1]!.data))).toEqual([0, 0, 64, 128, 0, 255, 1, 2])
  })

  it('lays images out in a grid with padding', () => {
    const images = Float32Array.from([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0])
    const { pixels, width, height } = gridPixels(images, 3, 2, 2, 1)
    expect([width, height]).toEqual([7, 7])
    expect(pixels[1 * 7 + 1]).toBe(255) // first image, top left
    expect(pixels[1 * 7 + 4]).toBe(128) // second image, right of the first
    expect(pixels[0]).toBe(0) // padding
  })

  it('trains both networks for a few steps and writes a grid of digits per epoch in its run folder', async () => {
    const result = await main(['--epochs', '2', '--limit', '192', '--runs', runs])
    expect(result.exitCode).toBe(0)
    expect(result.grids).toEqual([join(runs, 'version_0', 'samples', 'epoch=0.png'), join(runs, 'version_0', 'samples', 'epoch=1.png')])
    const chunks = chunksOf(readFileSync(result.grids[1] as string))
    const header = new DataView(chunks[0]!.data.buffer, chunks[0]!.data.byteOffset, 13)
    expect([header.getUint32(0), header.getUint32(4)]).toEqual([8 * 28 + 9 * 2, 8 * 28 + 9 * 2])
    // the two grids differ: the generator moved between the epochs
    expect(readFileSync(result.grids[0] as string).equals(readFileSync(result.grids[1] as string))).toBe(false)
    expect(existsSync(join(runs, 'version_0', 'checkpoints', 'last.json'))).toBe(true)
    expect(printed.some((l) => /generated digits in/.test(l))).toBe(true)
  })
})
