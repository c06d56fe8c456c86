import { describe, expect, it } from 'vitest'
import { manualClock } from '../../src/effects/clock.js'
import { phaseClock } from '../../src/flow/phaseClock.js'

describe('phaseClock', () => {
  it('charges each interval to the innermost phase: exclusive times that add up to the elapsed time', () => {
    const clock = manualClock(0)
    const phases = phaseClock(clock)
    clock.advance(5) // setup
    phases.setBase('loop')
    phases.time('outer', () => {
      clock.advance(10)
      phases.time('inner', () => clock.advance(7))
      clock.advance(3)
    })
    const leave = phases.enter('open')
    clock.advance(2)
    const totals = phases.totals()
    leave()
    expect(Object.fromEntries(totals)).toEqual({
      setup: { ms: 5, calls: 0 },
      loop: { ms: 0, calls: 0 },
      outer: { ms: 13, calls: 1 },
      inner: { ms: 7, calls: 1 },
      open: { ms: 2, calls: 1 },
    })
    expect([...totals.values()].reduce((a, t) => a + t.ms, 0)).toBe(phases.elapsed())
    clock.advance(4)
    expect(phases.totals().get('loop')).toEqual({ ms: 4, calls: 0 })
  })

  it('samples every n-th step for kernel times, none when n is 0', () => {
    const every4 = phaseClock(manualClock(0), { kernelEvery: 4 })
    expect([0, 1, 4, 7, 8].map(every4.sampleKernels)).toEqual([true, false, true, false, true])
    expect(phaseClock(manualClock(0)).sampleKernels(0)).toBe(false)
  })
})
