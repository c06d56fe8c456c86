/** The loop's record of a pending stop request (Lightning's `should_stop`): the first reason wins. */
export interface StopSignal {
  readonly reason: () => string | undefined
  readonly request: (reason: string) => void
}

export const stopSignal = (): StopSignal => {
  let reason: string | undefined
  return {
    reason: () => reason,
    request: (r) => {
      reason ??= r
    },
  }
}
