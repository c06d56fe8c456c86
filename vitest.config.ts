import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    // README snippets import the package by name.
    alias: [
      { find: /^rxtrain$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      // Node's implementations of the platform modules (tsconfig.json's `paths` says the same to tsc and tsx).
      { find: /^#platform\/(.*)$/, replacement: `${fileURLToPath(new URL('./src/effects/platform/node/', import.meta.url))}$1` },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // tfjs keeps one engine per process: each test file gets its own process.
    pool: 'forks',
    isolate: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
