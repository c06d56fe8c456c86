import type { BatchSource } from './source.js'

/**
 * The data of a run, by stage (Lightning's `LightningDataModule`, without the hidden hooks):
 * each stage is a `BatchSource` or absent. `fit` needs `train` (and uses `val` when present),
 * `test` needs `test`, `predict` needs `predict`.
 */
export interface DataModule<B, PB = B> {
  readonly train?: BatchSource<B>
  readonly val?: BatchSource<B>
  readonly test?: BatchSource<B>
  readonly predict?: BatchSource<PB>
}
