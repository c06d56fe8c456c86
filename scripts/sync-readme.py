# Writes the files of examples/readme into the README's TypeScript blocks, in order (test/readme.test.ts checks they match).
import re, pathlib
root = pathlib.Path(__file__).resolve().parent.parent
names = ['1-module', '2-optimizer', '3-fit', '4-test-a-step', '5-effects', '6-hooks', '7-custom-hook', '8-backends']
files = iter([(root / 'examples' / 'readme' / f'{n}.ts').read_text() for n in names])
readme = (root / 'README.md').read_text()
readme = re.sub(r'```ts\n[\s\S]*?```', lambda m: '```ts\n' + next(files) + '```', readme)
(root / 'README.md').write_text(readme)
