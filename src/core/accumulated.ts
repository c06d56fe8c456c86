/** How values logged over an epoch are combined. `mean` is weighted by batch size. */
export type Reduction = 'mean' | 'sum' | 'min' | 'max'

/** A value combined over an epoch: for `mean`, `value` is a weighted sum. */
export interface Accumulated {
  readonly reduce: Reduction
  readonly value: number
  readonly weight: number
}
