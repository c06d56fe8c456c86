import { resolveObjectURL } from 'node:buffer'
import { unzipSync } from 'fflate'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { downloadZip, zipFolder } from '../../src/effects/zipFolder.js'
import { fails, ok } from './fileSystemContract.js'

const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b)

const run = () =>
  memoryFileSystem({
    'runs/mnist/version_0/metrics.csv': 'step,loss\n1,0.5\n',
    'runs/mnist/version_0/checkpoints/last/tensors.bin': Uint8Array.from([0, 128, 255, 7]),
    'runs/other/x.txt': 'not me',
  })

describe('zipFolder', () => {
  it('zips every file under the folder, under one top folder named like it, bytes intact', async () => {
    const fs = run()
    await ok(fs.mkdir('runs/mnist/version_0/tb'))
    const entries = unzipSync(await ok(zipFolder(fs, 'runs/mnist')))
    expect(Object.keys(entries).sort()).toEqual(['mnist/version_0/checkpoints/last/tensors.bin', 'mnist/version_0/metrics.csv', 'mnist/version_0/tb/'])
    expect(Array.from(entries['mnist/version_0/checkpoints/last/tensors.bin'] ?? [])).toEqual([0, 128, 255, 7])
    expect(text(entries['mnist/version_0/metrics.csv'])).toBe('step,loss\n1,0.5\n')
    // Paths are normalised; the root folder zips as 'files'.
    expect(Object.keys(unzipSync(await ok(zipFolder(fs, './runs//other/'))))).toEqual(['other/x.txt'])
    expect(Object.keys(unzipSync(await ok(zipFolder(memoryFileSystem({ 'a.txt': 'a' }), '.'))))).toEqual(['files/a.txt'])
  })

  it('a missing folder is the FileError of listing it', async () => {
    const e = await fails(zipFolder(run(), 'runs/none'))
    expect(e.details).toMatchObject({ operation: 'list', path: 'runs/none' })
  })

  it('a file that cannot be read fails the zip with its own error', async () => {
    const fs = run()
    const broken = { ...fs, readFile: (p: string) => (p.endsWith('.csv') ? fs.readFile('no/such/file') : fs.readFile(p)) }
    expect((await fails(zipFolder(broken, 'runs/mnist'))).problem).toContain('no/such/file')
  })
})

describe('downloadZip', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('clicks an <a download> on a Blob URL of the zip, named after the folder unless told', async () => {
    const clicks: { href: string; download: string; attached: boolean }[] = []
    const body = { children: new Set<unknown>(), appendChild: (a: unknown) => body.children.add(a) }
    const makeAnchor = () => {
      const a = {
        href: '',
        download: '',
        style: { display: '' },
        click: () => clicks.push({ href: a.href, download: a.download, attached: body.children.has(a) }),
        remove: () => body.children.delete(a),
      }
      return a
    }
    vi.stubGlobal('document', { createElement: (tag: string) => (tag === 'a' ? makeAnchor() : undefined), body })
    await ok(downloadZip(run(), 'runs/mnist'))
    await ok(downloadZip(run(), 'runs/mnist', 'my-run.zip'))
    expect(clicks.map((c) => c.download)).toEqual(['mnist.zip', 'my-run.zip'])
    expect(clicks.every((c) => c.attached && c.href.startsWith('blob:'))).toBe(true)
    expect(body.children.size).toBe(0)
    // The link's Blob is the zip.
    const blob = resolveObjectURL(clicks[0]?.href ?? '')
    expect(blob?.type).toBe('application/zip')
    expect(Object.keys(unzipSync(new Uint8Array(await (blob as Blob).arrayBuffer())))).toContain('mnist/version_0/metrics.csv')
  })

  it('outside a page it is a FileError that points to zipFolder', async () => {
    const e = await fails(downloadZip(run(), 'runs/mnist'))
    expect(e.remedy).toContain('zipFolder')
  })
})
