/**
 * The digit pad: a canvas to draw on with mouse, pen or finger, turned into a 28x28 image the way
 * MNIST's digits were made (the ink's bounding box scaled into 20x20, then centred by its centre
 * of mass in 28x28), and ten bars with the model's probabilities.
 */

const SIZE = 280

export interface DigitPad {
  /** Predicts again (new parameters, or a new drawing). */
  refresh(): void
  /** The drawing as MNIST pixels (784 values in [0, 1]), or undefined when the pad is empty. */
  pixels(): number[] | undefined
}

/** The drawing, as 784 values in [0, 1]: white ink on black, MNIST's preprocessing. */
const mnistPixels = (canvas: HTMLCanvasElement): number[] | undefined => {
  const ctx = canvas.getContext('2d', { willReadFrequently: true })
  if (ctx === null) return undefined
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height)
  let minX = canvas.width
  let minY = canvas.height
  let maxX = -1
  let maxY = -1
  for (let y = 0; y < canvas.height; y++)
    for (let x = 0; x < canvas.width; x++)
      if ((data[(y * canvas.width + x) * 4] ?? 0) > 20) {
        minX = Math.min(minX, x)
        maxX = Math.max(maxX, x)
        minY = Math.min(minY, y)
        maxY = Math.max(maxY, y)
      }
  if (maxX < 0) return undefined
  // The bounding box, scaled (aspect kept) to fit 20x20 ...
  const w = maxX - minX + 1
  const h = maxY - minY + 1
  const scale = 20 / Math.max(w, h)
  const small = document.createElement('canvas')
  small.width = 28
  small.height = 28
  const s = small.getContext('2d', { willReadFrequently: true })
  if (s === null) return undefined
  s.fillStyle = 'black'
  s.fillRect(0, 0, 28, 28)
  s.imageSmoothingEnabled = true
  s.imageSmoothingQuality = 'high'
  const dw = w * scale
  const dh = h * scale
  s.drawImage(canvas, minX, minY, w, h, (28 - dw) / 2, (28 - dh) / 2, dw, dh)
  const smallData = s.getImageData(0, 0, 28, 28).data
  const px = Array.from({ length: 784 }, (_, i) => (smallData[i * 4] ?? 0) / 255)
  // ... then moved so that its centre of mass is the image's centre.
  let mass = 0
  let cx = 0
  let cy = 0
  px.forEach((v, i) => {
    mass += v
    cx += v * (i % 28)
    cy += v * Math.floor(i / 28)
  })
  const dx = Math.round(13.5 - cx / mass)
  const dy = Math.round(13.5 - cy / mass)
  const out = new Array<number>(784).fill(0)
  for (let y = 0; y < 28; y++)
    for (let x = 0; x < 28; x++) {
      const tx = x + dx
      const ty = y + dy
      if (tx >= 0 && tx < 28 && ty >= 0 && ty < 28) out[ty * 28 + tx] = px[y * 28 + x] ?? 0
    }
  return out
}

export const createDigitPad = (
  canvas: HTMLCanvasElement,
  barsEl: HTMLElement,
  clearButton: HTMLButtonElement,
  predict: (pixels: number[]) => number[] | undefined,
): DigitPad => {
  canvas.width = SIZE
  canvas.height = SIZE
  const ctx = canvas.getContext('2d', { willReadFrequently: true })
  if (ctx === null) throw new Error('no 2d canvas')
  const clear = () => {
    ctx.fillStyle = 'black'
    ctx.fillRect(0, 0, SIZE, SIZE)
  }
  clear()
  ctx.strokeStyle = 'white'
  ctx.lineWidth = 22
  ctx.lineCap = 'round'
  ctx.lineJoin = 'round'

  const bars = Array.from({ length: 10 }, (_, digit) => {
    const row = document.createElement('div')
    row.className = 'bar'
    row.innerHTML = `<span class="digit">${digit}</span><span class="track"><span class="fill"></span></span><span class="p"></span>`
    barsEl.append(row)
    return { row, fill: row.querySelector('.fill') as HTMLElement, p: row.querySelector('.p') as HTMLElement }
  })
  const hint = document.createElement('p')
  hint.className = 'hint'
  barsEl.append(hint)

  const refresh = () => {
    const pixels = mnistPixels(canvas)
    const probs = pixels === undefined ? undefined : predict(pixels)
    const best = probs === undefined ? -1 : probs.indexOf(Math.max(...probs))
    bars.forEach((b, i) => {
      const p = probs?.[i] ?? 0
      b.fill.style.width = `${(p * 100).toFixed(1)}%`
      b.p.textContent = probs === undefined ? '' : `${(p * 100).toFixed(1)}%`
      b.row.classList.toggle('best', i === best)
    })
    hint.textContent = pixels === undefined ? 'Draw a digit in the black square.' : probs === undefined ? 'Train (or resume) first: no parameters yet.' : `The model reads a ${best}.`
  }

  let drawing = false
  let last: { x: number; y: number } | undefined
  let lastPredict = 0
  const at = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect()
    return { x: ((e.clientX - r.left) * SIZE) / r.width, y: ((e.clientY - r.top) * SIZE) / r.height }
  }
  canvas.addEventListener('pointerdown', (e) => {
    drawing = true
    canvas.setPointerCapture(e.pointerId)
    last = at(e)
    ctx.beginPath()
    ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, Math.PI * 2)
    ctx.fillStyle = 'white'
    ctx.fill()
  })
  canvas.addEventListener('pointermove', (e) => {
    if (!drawing || last === undefined) return
    const p = at(e)
    ctx.beginPath()
    ctx.moveTo(last.x, last.y)
    ctx.lineTo(p.x, p.y)
    ctx.stroke()
    last = p
    if (Date.now() - lastPredict > 100) {
      lastPredict = Date.now()
      refresh()
    }
  })
  const end = () => {
    if (!drawing) return
    drawing = false
    refresh()
  }
  canvas.addEventListener('pointerup', end)
  canvas.addEventListener('pointercancel', end)
  clearButton.addEventListener('click', () => {
    clear()
    refresh()
  })
  refresh()
  return { refresh, pixels: () => mnistPixels(canvas) }
}
