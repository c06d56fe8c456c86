import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import YAML from 'yaml'
import { root, rxtrain } from './support.js'

// The README's section on the rxtrain command shows the examples' configs: they must stay the files.
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const section = readme.slice(readme.indexOf('## The rxtrain command'), readme.indexOf('\n## ', readme.indexOf('## The rxtrain command') + 1))
const block = (lang: string): string => (new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(section)?.[1] ?? '')
const body = (ts: string): string => ts.slice(ts.indexOf('\nexport default'))

describe("the README's rxtrain section", () => {
  it('shows examples/mnist-mlp/run.yaml (the same keys and values)', () => {
    expect(YAML.parse(block('yaml'))).toEqual(YAML.parse(readFileSync(join(root, 'examples', 'mnist-mlp', 'run.yaml'), 'utf8')))
  })

  it('shows examples/mnist-mlp/rxtrain.config.ts, which declares the same run as run.yaml', async () => {
    const file = readFileSync(join(root, 'examples', 'mnist-mlp', 'rxtrain.config.ts'), 'utf8')
    expect(body(block('typescript'))).toBe(body(file))
    const yaml = await rxtrain(['print-config', '--config', 'examples/mnist-mlp/run.yaml'], root)
    const ts = await rxtrain(['print-config', '--config', 'examples/mnist-mlp/rxtrain.config.ts'], root)
    expect(yaml.status).toBe(0)
    expect(ts).toEqual(yaml)
  })
})
