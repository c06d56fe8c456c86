/**
 * The browser capabilities in a real browser (headless Debian Chromium): the FileSystem contract
 * on the page's Origin Private File System and IndexedDB, zipFolder and downloadZip, pageSignals on a
 * real page lifecycle and letIn's yields, pageConsole and pageTerminal on real elements.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as nodePath from 'node:path'
import { unzipSync } from 'fflate'
import { afterAll, describe, expect, it } from 'vitest'
import { withPage } from '../support/chromium.js'

const site = {
  entry: 'test/effects/browserCapabilities.page.ts',
  alias: { vitest: 'test/support/browserVitest.ts' },
  files: { '/after': '<!doctype html><title>after</title>' },
}
const downloads = mkdtempSync(nodePath.join(os.tmpdir(), 'rxtrain-download-'))
afterAll(() => rmSync(downloads, { recursive: true, force: true }))

type Results = { name: string; error?: string }[]

describe('browser capabilities in Chromium', () => {
  it('the FileSystem contract passes on OPFS and IndexedDB, plus persistence, concurrency and zip checks', async () => {
    const { results, moves, problems } = await withPage(site, async ({ page, problems }) => ({
      // before run(): its last contract takes move() away
      moves: (await page.evaluate('capabilityTests.moves()')) as { file: boolean; dir: boolean },
      results: (await page.evaluate('capabilityTests.run()')) as Results,
      problems,
    }))
    console.log(`Chromium OPFS: ${results.length} checks passed or failed below; move() on file handles: ${moves.file}, on folder handles: ${moves.dir}`)
    expect(results.filter((r) => r.error !== undefined)).toEqual([])
    expect(results.filter((r) => r.name.startsWith('opfsFileSystem: the FileSystem contract')).length).toBeGreaterThanOrEqual(13)
    expect(results.filter((r) => r.name.startsWith('indexedDbFileSystem: the FileSystem contract')).length).toBeGreaterThanOrEqual(13)
    expect(results.filter((r) => r.name.startsWith('opfsFileSystem without move(): the FileSystem contract')).length).toBeGreaterThanOrEqual(13)
    expect(problems).toEqual([])
  })

  it('hiding the page and pagehide are a SIGTERM; letIn lets frames draw; console and terminal show in the page; downloadZip downloads', async () => {
    await withPage(site, async ({ page, problems, url }) => {
      const warnings: string[] = []
      page.on('console', (m) => {
        if (m.type() === 'warn') warnings.push(m.text())
      })
      const printed = (await page.evaluate('capabilityTests.print()')) as { log: string; bar: string }
      expect(printed).toEqual({ log: 'epoch 0 loss 0.5\nrxtrain warning: a notice', bar: 'epoch 0 |████| 20/20' })
      expect(warnings).toEqual(['rxtrain warning: a notice'])

      const yields = (await page.evaluate('capabilityTests.letIn()')) as { frames: number; yields: number; channel: number; timers: number }
      console.log(`letIn in Chromium: ${yields.yields} yields and ${yields.frames} frames in a 400 ms synchronous loop; 50 chained yields: MessageChannel ${yields.channel.toFixed(1)} ms, setTimeout(0) ${yields.timers.toFixed(1)} ms`)
      expect(yields.yields).toBeGreaterThanOrEqual(4)
      expect(yields.frames).toBeGreaterThanOrEqual(3)
      // setTimeout's nested-timer clamp (4 ms) shows in the chain; the MessageChannel yield has none.
      expect(yields.channel * 2).toBeLessThan(yields.timers)

      const cdp = await page.createCDPSession()
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads })
      await page.evaluate('capabilityTests.download()')
      for (let i = 0; i < 100 && !readdirSync(downloads).includes('demo.zip'); i++) await new Promise((r) => setTimeout(r, 50))
      expect(readdirSync(downloads)).toEqual(['demo.zip'])
      const entries = unzipSync(new Uint8Array(readFileSync(nodePath.join(downloads, 'demo.zip'))))
      expect(new TextDecoder().decode(entries['demo/notes.txt'])).toBe('downloaded')

      // Another tab in front hides the page: a SIGTERM (the run saves `last` while the page still runs).
      await page.evaluate('capabilityTests.listen(true)')
      const other = await page.browser().newPage()
      await other.bringToFront()
      await page.waitForFunction("document.visibilityState === 'hidden'")
      expect(await page.evaluate("localStorage.getItem('signals')")).toBe('SIGTERM;')
      await other.close()
      await page.bringToFront()
      // pagehide alone (hidden: false); the first run, which heard the page already, stays quiet.
      await page.evaluate('capabilityTests.listen(false)')
      await page.goto(`${url}after`, { waitUntil: 'load' })
      expect(await page.evaluate("localStorage.getItem('signals')")).toBe('SIGTERM;')
      expect(problems).toEqual([])
    })
  })
})
