/**
 * rxtrain's layers, checked by `npm test` (test/architecture/dependencies.test.ts) and by
 * `npx depcruise src`. Type-only imports count: a cycle through types is still a cycle.
 *
 * Bottom to top: errors, tree, random, core (the run's data: Model, TrainState, LoopState) ->
 * effects (with effects/platform: Node's or a browser's implementation of each `#platform/*` module), backends, data, metrics, nn, optim -> flow -> pipeline, checkpoint, strategies,
 * export -> hooks -> index; and above hooks the `rxtrain` command's parts: config (run files) ->
 * sweep, report -> cli.
 */
const layer = (name, from, notTo) => ({ name, severity: 'error', comment: `${from} must not depend on ${notTo.join(', ')}`, from: { path: `^src/(${from})/` }, to: { path: `^src/(${notTo.join('|')})/` } })

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'an import cycle in src/', from: { path: '^src/' }, to: { circular: true } },
    layer('bottom', 'errors|tree|random|core', ['effects', 'backends', 'data', 'metrics', 'nn', 'optim', 'flow', 'pipeline', 'checkpoint', 'strategies', 'export', 'hooks', 'config', 'sweep', 'report', 'cli', 'tuner']),
    layer('capabilities', 'effects|backends', ['data', 'nn', 'flow', 'pipeline', 'checkpoint', 'strategies', 'export', 'hooks', 'config', 'sweep', 'report', 'cli', 'tuner']),
    layer('building blocks', 'data|metrics|nn|optim', ['flow', 'pipeline', 'checkpoint', 'strategies', 'export', 'hooks', 'config', 'sweep', 'report', 'cli', 'tuner']),
    layer('flow control', 'flow', ['pipeline', 'checkpoint', 'strategies', 'export', 'hooks', 'config', 'sweep', 'report', 'cli', 'tuner']),
    layer('the loop', 'pipeline|checkpoint|strategies|export', ['hooks', 'config', 'sweep', 'report', 'cli', 'tuner']),
    layer('hooks', 'hooks', ['config', 'sweep', 'report', 'cli', 'tuner']),
    layer('tuner', 'tuner', ['config', 'sweep', 'report', 'cli']),
    layer('declarative runs', 'config', ['sweep', 'report', 'cli']),
    layer('sweeps and reports', 'sweep|report', ['cli']),
    {
      name: 'optional-peers-only-on-demand',
      severity: 'error',
      comment: 'src/ imports only its dependencies statically (types included, since they reach the published .d.ts); optional peers and dev dependencies only by dynamic import()',
      from: { path: '^src/' },
      // (src/index.ts's `/// <reference types="long" />` names @types/long, a dependency, but resolves to `long` here.)
      to: { dependencyTypes: ['npm-dev', 'npm-peer', 'npm-optional', 'npm-no-pkg', 'npm-unknown'], dynamic: false, pathNot: '^node_modules/long/' },
    },
    {
      name: 'platform-modules-by-their-import-name',
      severity: 'error',
      comment: "src/ outside src/effects/platform reaches a platform module only as '#platform/<name>.js', so that a browser bundle gets the browser's",
      from: { path: '^src/', pathNot: '^src/effects/platform/' },
      to: { path: '^src/effects/platform/(node|browser)/', dependencyTypesNot: ['aliased-subpath-import', 'aliased-tsconfig-paths', 'aliased-tsconfig', 'aliased'] },
    },
    {
      name: 'browser-platform-without-node',
      severity: 'error',
      comment: "src/effects/platform/browser/ must not reach Node's built-ins (types excepted) or Node's platform files (types excepted)",
      from: { path: '^src/effects/platform/browser/' },
      to: { dependencyTypes: ['core'], dependencyTypesNot: ['type-only'] },
    },
    { name: 'index-only-from-outside', severity: 'error', comment: 'src/ imports modules, never the public index', from: { path: '^src/' }, to: { path: '^src/index\\.ts$' } },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
  },
}
