/**
 * The page of browserCapabilities.test.ts, bundled for Chromium with 'vitest' swapped for
 * test/support/browserVitest.ts: the FileSystem contract on the page's real OPFS and IndexedDB,
 * and the page capabilities on a real document. Exposes `window.capabilityTests`.
 */
import { unzipSync } from 'fflate'
import * as E from 'fp-ts/lib/Either.js'
import { firstValueFrom } from 'rxjs'
import { browserFileSystem } from '../../src/effects/browserFileSystem.js'
import { indexedDbFileSystem } from '../../src/effects/indexedDbFileSystem.js'
import { opfsFileSystem } from '../../src/effects/opfsFileSystem.js'
import { pageConsole } from '../../src/effects/pageConsole.js'
import { nextMacrotask, pageSignals } from '../../src/effects/pageSignals.js'
import { pageTerminal } from '../../src/effects/pageTerminal.js'
import { downloadZip, zipFolder } from '../../src/effects/zipFolder.js'
import { describe, expect, it, runRegistered } from '../support/browserVitest.js'
import { fileSystemContract, ok } from './fileSystemContract.js'

let n = 0
fileSystemContract('opfsFileSystem', async () => {
  const fs = opfsFileSystem({ root: `contract-${n++}` })
  await ok(fs.mkdir('work/run'))
  return { fs, root: 'work/run' }
})
fileSystemContract('indexedDbFileSystem', async () => {
  const fs = indexedDbFileSystem({ database: `contract-${n++}` })
  await ok(fs.mkdir('work/run'))
  return { fs, root: 'work/run' }
})

describe('opfsFileSystem in Chromium', () => {
  it('keeps files in the origin: another instance (a reload) and browserFileSystem see them', async () => {
    const a = opfsFileSystem({ root: 'persist' })
    await ok(a.mkdir('runs/x/version_0/ckpt/last'))
    await ok(a.writeFileAtomic('runs/x/version_0/ckpt/last/tensors.bin', Uint8Array.from([9, 8, 7])))
    expect(Array.from(await ok(opfsFileSystem().readFile('/persist/runs/x/version_0/ckpt/last/tensors.bin')))).toEqual([9, 8, 7])
    await ok(browserFileSystem().writeFile('persist/runs/from-browser-fs.txt', 'b'))
    expect(await ok(a.readText('runs/from-browser-fs.txt'))).toBe('b')
  })

  it('appends in flight at once all land (operations run one at a time)', async () => {
    const fs = opfsFileSystem({ root: 'appends' })
    await Promise.all(Array.from({ length: 20 }, (_, i) => ok(fs.appendFile('log.csv', `${i}\n`))))
    expect((await ok(fs.readText('log.csv'))).split('\n').filter((l) => l !== '').length).toBe(20)
  })

  it('createDir claims a folder once among calls made at the same time', async () => {
    const fs = opfsFileSystem({ root: 'claims' })
    const claims = await Promise.all(Array.from({ length: 6 }, () => fs.createDir('version_0')()))
    expect(claims.filter((c) => E.isRight(c) && c.right).length).toBe(1)
  })

  it('zipFolder zips what the run wrote to OPFS', async () => {
    const fs = opfsFileSystem({ root: 'zip' })
    await ok(fs.mkdir('runs/mnist/version_0/ckpt'))
    await ok(fs.writeFile('runs/mnist/version_0/metrics.csv', 'step,loss\n'))
    await ok(fs.writeFile('runs/mnist/version_0/ckpt/tensors.bin', Uint8Array.from([1, 2, 3, 250])))
    const entries = unzipSync(await ok(zipFolder(fs, 'runs/mnist')))
    expect(Object.keys(entries).sort()).toEqual(['mnist/version_0/ckpt/tensors.bin', 'mnist/version_0/metrics.csv'])
    expect(Array.from(entries['mnist/version_0/ckpt/tensors.bin'] ?? [])).toEqual([1, 2, 3, 250])
  })
})

// Last, as it changes the page for what follows: a browser without move() (Chromium has it on
// file handles only; older Safari has none), where rename copies.
fileSystemContract('opfsFileSystem without move()', async () => {
  delete (FileSystemFileHandle.prototype as { move?: unknown }).move
  const fs = opfsFileSystem({ root: `contract-${n++}` })
  await ok(fs.mkdir('work/run'))
  return { fs, root: 'work/run' }
})

/** 50 yields in a row, one after the other, through `wait`; how long they took (ms). */
const chain = async (wait: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now()
  for (let i = 0; i < 50; i++) await wait()
  return performance.now() - t0
}

const capabilityTests = {
  run: runRegistered,
  /** Which OPFS handles have move() in this Chromium. */
  moves: async () => {
    const root = await navigator.storage.getDirectory()
    const file = await root.getFileHandle('probe', { create: true })
    return { file: typeof (file as { move?: unknown }).move === 'function', dir: typeof (root as { move?: unknown }).move === 'function' }
  },
  /** Subscribes a run's handler that records the signal in localStorage (read after the page is gone). */
  listen: (hidden: boolean) => {
    localStorage.removeItem('signals')
    pageSignals({ hidden }).onInterrupt((s) => localStorage.setItem('signals', `${localStorage.getItem('signals') ?? ''}${s};`))
  },
  visibility: () => document.visibilityState,
  /** A synchronous loop of 400 ms that yields through letIn: how many frames drew and how many yields it made. */
  letIn: async () => {
    const signals = pageSignals()
    let frames = 0
    let drawing = true
    const frame = (): void => {
      frames++
      if (drawing) requestAnimationFrame(frame)
    }
    requestAnimationFrame(frame)
    let yields = 0
    const t0 = performance.now()
    while (performance.now() - t0 < 400) {
      const wait = signals.letIn?.()
      if (wait !== undefined) {
        yields++
        await firstValueFrom(wait, { defaultValue: undefined })
      }
    }
    drawing = false
    const channel = await chain(() => firstValueFrom(nextMacrotask, { defaultValue: undefined }))
    const timers = await chain(() => new Promise((resolve) => setTimeout(resolve, 0)))
    return { frames, yields, channel, timers }
  },
  /** Writes through pageConsole and pageTerminal into <pre> elements; what the page shows. */
  print: () => {
    const log = document.createElement('pre')
    const bar = document.createElement('pre')
    document.body.append(log, bar)
    const c = pageConsole(log)
    c.out('epoch 0 loss 0.5')
    c.err('rxtrain warning: a notice')
    const t = pageTerminal(bar)
    t.write('\r\u001b[2Kepoch 0 |██  | 10/20')
    t.write('\r\u001b[2Kepoch 0 |████| 20/20\n')
    return { log: log.innerText, bar: bar.innerText }
  },
  /** Writes a folder to OPFS and downloads it as a zip. */
  download: async () => {
    const fs = opfsFileSystem({ root: 'download' })
    await ok(fs.mkdir('runs/demo'))
    await ok(fs.writeFile('runs/demo/notes.txt', 'downloaded'))
    await ok(downloadZip(fs, 'runs/demo'))
  },
}
Object.assign(globalThis, { capabilityTests })
