import type { BatchSource } from './source.js'

/**
 * The data of a run, by stage (Lightning's `LightningDataModule`, without the hidden hooks):
 * each stage is a `BatchSource` or absent. `fit` needs `train` (and uses `val` when present),
 * `test` needs `test`, `predict` needs `predict`.
 *
 * @example
 * const dm: DataModule<Batch> = { train, val, test: val }
 * fit(module, dm, { maxEpochs: 3 }).subscribe()
 * test(module, model, dm).pipe(evalMetrics()).subscribe(console.log)
 */
export interface DataModule<B, PB = B> {
  readonly train?: BatchSource<B>
  readonly val?: BatchSource<B>
  readonly test?: BatchSource<B>
  readonly predict?: BatchSource<PB>
}
