import { EMPTY, of, take, throwError, timer } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import { drive, type Program, wait, yieldPoint } from '../../src/flow/drive.js'

const scheduler = () => new TestScheduler((a, b) => expect(a).toEqual(b))

describe('drive', () => {
  it('runs a long synchronous program without growing the stack', () => {
    let last = -1
    drive<number>(function* (emit): Program {
      for (let i = 0; i < 200_000; i++) {
        emit(i)
        yield* yieldPoint()
        yield of(i)
      }
    }).subscribe((v) => (last = v))
    expect(last).toBe(199_999)
  })

  it('resumes the program with the last value of what it waited for', () => {
    const seen: unknown[] = []
    drive<unknown>(function* (emit): Program {
      emit(yield* wait(of(1, 2, 3)))
      emit(yield* wait(EMPTY))
    }).subscribe((v) => seen.push(v))
    expect(seen).toEqual([3, undefined])
  })

  it('throws a failed wait into the program, where it can be caught', () => {
    const seen: string[] = []
    drive<string>(function* (emit): Program {
      try {
        yield throwError(() => new Error('boom'))
      } catch (e) {
        emit(`caught ${(e as Error).message}`)
      }
    }).subscribe((v) => seen.push(v))
    expect(seen).toEqual(['caught boom'])
  })

  it('delivers an uncaught failure as the stream error, after the finally blocks ran', () => {
    const order: string[] = []
    drive<string>(function* (): Program {
      try {
        yield throwError(() => new Error('boom'))
      } finally {
        order.push('finally')
      }
    }).subscribe({ error: (e: unknown) => order.push(`error ${(e as Error).message}`) })
    expect(order).toEqual(['finally', 'error boom'])
  })

  it('unsubscribing while waiting cancels the wait and runs the finally blocks', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      let released = false
      const slow = cold('10ms (a|)')
      const run = drive<string>(function* (emit): Program {
        try {
          emit('start')
          yield slow
          emit('never')
        } finally {
          released = true
        }
      })
      expectObservable(run, '5ms !').toBe('s', { s: 'start' })
      expectSubscriptions(slow.subscriptions).toBe('^ 4ms !')
      flush()
      expect(released).toBe(true)
    })
  })

  it('unsubscribing from inside an emission stops at the next yield', () => {
    let after = 0
    let released = false
    drive<number>(function* (emit): Program {
      try {
        for (let i = 0; ; i++) {
          emit(i)
          after = i
          yield* yieldPoint()
        }
      } finally {
        released = true
      }
    })
      .pipe(take(3))
      .subscribe()
    expect(after).toBe(2)
    expect(released).toBe(true)
  })

  it('is cold: nothing runs before subscription, and each subscription runs anew', () => {
    let starts = 0
    const run = drive<number>(function* (emit): Program {
      const run = ++starts
      yield timer(1)
      emit(run)
    })
    expect(starts).toBe(0)
    scheduler().run(({ expectObservable }) => {
      expectObservable(run).toBe('- (a|)', { a: 1 })
      expectObservable(run).toBe('- (a|)', { a: 2 })
    })
  })
})

describe('drive after cancellation', () => {
  it('drives the waits of finally blocks to the end, emitting nothing', () => {
    scheduler().run(({ cold, expectObservable, flush }) => {
      const order: string[] = []
      const run = drive<string>(function* (emit): Program {
        try {
          emit('start')
          yield cold('10ms (a|)')
        } finally {
          order.push('finally starts')
          yield cold('20ms (b|)')
          order.push('finally ends')
          emit('not delivered')
        }
      })
      expectObservable(run, '5ms !').toBe('s', { s: 'start' })
      flush()
      expect(order).toEqual(['finally starts', 'finally ends'])
    })
  })

  it('reports a failure in a finally block after cancellation as an unhandled error', async () => {
    const { config } = await import('rxjs')
    const reported: unknown[] = []
    const previous = config.onUnhandledError
    config.onUnhandledError = (e) => reported.push(e)
    try {
      drive<number>(function* (emit): Program {
        try {
          emit(1)
          yield* yieldPoint()
        } finally {
          // biome-ignore lint: a finally that throws is what this test is about
          throw new Error('release failed')
        }
      })
        .pipe(take(1))
        .subscribe()
    } finally {
      config.onUnhandledError = previous
    }
    expect(reported.map((e) => (e as Error).message)).toEqual(['release failed'])
  })
})
