/**
 * How hooks find the run they belong to, at subscription. RxJS subscribes a pipe from its end
 * back to its source in one synchronous call: `fit(...).pipe(a, b)` subscribes `b`, which
 * subscribes `a`, which subscribes the run. Each hook puts itself on this stack while it
 * subscribes its source, and the run takes the hooks that are on it when it is subscribed: the
 * hooks downstream of it, in pipe order. The stack is empty again once the outermost
 * subscription returns; a hook left unclaimed then is not downstream of a run, and fails at
 * subscription with a `FlowError`.
 */

/** What a run knows of a hook placed after it; `claimed` is set by the run that takes it. */
export interface Attachable {
  claimed: boolean
}

const subscribing: Attachable[] = []

/** Runs `subscribe` with `hook` on the stack of hooks whose subscription is under way. */
export const whileSubscribing = <T>(hook: Attachable, subscribe: () => T): T => {
  subscribing.push(hook)
  try {
    return subscribe()
  } finally {
    const at = subscribing.lastIndexOf(hook)
    if (at >= 0) subscribing.splice(at, 1)
  }
}

/** The hooks downstream of a run being subscribed now, in pipe order (each is taken once). */
export const claimSubscribing = <H extends Attachable>(): H[] => {
  const free = subscribing.filter((h) => !h.claimed).reverse() as H[]
  for (const h of free) h.claimed = true
  return free
}
