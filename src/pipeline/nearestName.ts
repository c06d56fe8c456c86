/** Levenshtein distance: single-character insertions, deletions and substitutions. */
const editDistance = (a: string, b: string): number => {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[]
      const prev = d[i - 1] as number[]
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
  return (d[a.length] as number[])[b.length] as number
}

/**
 * The name in `names` nearest to `name` (case-insensitive edit distance), if it is close enough
 * to be a misspelling: at most 2 edits, or a quarter of the name's length.
 *
 * @example
 * nearestName('maxEpoch', ['maxEpochs', 'seed'])   // 'maxEpochs'
 */
export const nearestName = <N extends string>(name: string, names: readonly N[]): N | undefined => {
  const best = names
    .map((n) => ({ n, d: editDistance(name.toLowerCase(), n.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0]
  return best !== undefined && best.d <= Math.max(2, Math.floor(name.length / 4)) ? best.n : undefined
}
