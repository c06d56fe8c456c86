;; The bias kernels of rxtrain's wasm backend (issue 19): a dense layer's bias add and its
;; gradient (the sum over the batch), which tfjs-backend-wasm 4.22 runs through a generic
;; broadcasting loop and through a transpose followed by a row reduction. `npm run build:wasm`
;; compiles this file (wabt) into wasmBiasBinary.ts; a test checks that they agree.
;; Each output is the same float32 operations in the same order as tfjs's kernels (one addition
;; per element for the bias add; for the column sums, 0 + x[0] + x[1] + ... in row order, as
;; wasm's Sum adds the transposed rows), so the results are bitwise the same.
;; Pointers are byte offsets in the tfjs wasm backend's memory, which this module imports.
(module
  (import "env" "memory" (memory 0))

  ;; out[r, j] = x[r, j] + b[j] for r < rows, j < cols (4 lanes at a time, then the rest).
  (func (export "biasAdd") (param $x i32) (param $b i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $row i32) (local $j i32) (local $vend i32) (local $end i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vend (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (local.set $end (local.get $rowBytes))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $j) (local.get $vend)))
            (v128.store (i32.add (local.get $out) (local.get $j))
              (f32x4.add (v128.load (i32.add (local.get $x) (local.get $j))) (v128.load (i32.add (local.get $b) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $vloop)))
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_u (local.get $j) (local.get $end)))
            (f32.store (i32.add (local.get $out) (local.get $j))
              (f32.add (f32.load (i32.add (local.get $x) (local.get $j))) (f32.load (i32.add (local.get $b) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $sloop)))
        (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
        (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rloop))))

;; out[j] = ((0 + x[0, j]) + x[1, j]) + ... + x[rows - 1, j] for j < cols: out starts at 0
  ;; and each row is added to it in turn (4 lanes at a time, then the rest), so every column's
  ;; additions happen in row order while memory is read sequentially.
  (func (export "sumRows") (param $x i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $row i32) (local $j i32) (local $vend i32) (local $end i32)
    (local.set $vend (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    (memory.fill (local.get $out) (i32.const 0) (local.get $end))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $j) (local.get $vend)))
            (v128.store (i32.add (local.get $out) (local.get $j))
              (f32x4.add (v128.load (i32.add (local.get $out) (local.get $j))) (v128.load (i32.add (local.get $x) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $vloop)))
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_u (local.get $j) (local.get $end)))
            (f32.store (i32.add (local.get $out) (local.get $j))
              (f32.add (f32.load (i32.add (local.get $out) (local.get $j))) (f32.load (i32.add (local.get $x) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $sloop)))
        (local.set $x (i32.add (local.get $x) (local.get $end)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rloop))))

  ;; A dense layer's forward tail, in place on z [rows, cols] (the matrix product):
  ;; z[r, j] = z[r, j] + b[j] where $hasBias, then max(z, 0) where $relu. f32x4.max gives tfjs's
  ;; Relu bit for bit: +0 for -0 and negatives, NaN for NaN.
  (func (export "biasRelu") (param $z i32) (param $b i32) (param $rows i32) (param $cols i32) (param $hasBias i32) (param $relu i32)
    (local $row i32) (local $j i32) (local $vend i32) (local $end i32) (local $v v128) (local $s f32)
    (local.set $vend (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $j) (local.get $vend)))
            (local.set $v (v128.load (i32.add (local.get $z) (local.get $j))))
            (if (local.get $hasBias)
              (then (local.set $v (f32x4.add (local.get $v) (v128.load (i32.add (local.get $b) (local.get $j)))))))
            (if (local.get $relu)
              (then (local.set $v (f32x4.max (local.get $v) (v128.const f32x4 0 0 0 0)))))
            (v128.store (i32.add (local.get $z) (local.get $j)) (local.get $v))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $vloop)))
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_u (local.get $j) (local.get $end)))
            (local.set $s (f32.load (i32.add (local.get $z) (local.get $j))))
            (if (local.get $hasBias)
              (then (local.set $s (f32.add (local.get $s) (f32.load (i32.add (local.get $b) (local.get $j)))))))
            (if (local.get $relu)
              (then (local.set $s (f32.max (local.get $s) (f32.const 0)))))
            (f32.store (i32.add (local.get $z) (local.get $j)) (local.get $s))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $sloop)))
        (local.set $z (i32.add (local.get $z) (local.get $end)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rloop))))

  ;; A dense layer's gradient before the matrix products, for the output gradient dy and the
  ;; output y [rows, cols]: with $relu, dz = dy * step(y) (step: 1 where y > 0, NaN where y is NaN,
  ;; else 0; the product rounds as tfjs's Multiply of dy by Step's output), written to $dz; and
  ;; dbias[j] = ((0 + d[0, j]) + d[1, j]) + ... in row order (d = dz, or dy without $relu), as
  ;; tfjs's Sum over the batch adds them.
  (func (export "denseBackward") (param $dy i32) (param $y i32) (param $dz i32) (param $dbias i32) (param $rows i32) (param $cols i32) (param $relu i32)
    (local $row i32) (local $j i32) (local $vend i32) (local $end i32) (local $v v128) (local $yv v128) (local $s f32) (local $ys f32)
    (local.set $vend (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    (memory.fill (local.get $dbias) (i32.const 0) (local.get $end))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $j) (local.get $vend)))
            (local.set $v (v128.load (i32.add (local.get $dy) (local.get $j))))
            (if (local.get $relu)
              (then
                (local.set $yv (v128.load (i32.add (local.get $y) (local.get $j))))
                (local.set $v (f32x4.mul (local.get $v)
                  (v128.or
                    (v128.and (f32x4.gt (local.get $yv) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))
                    (v128.and (f32x4.ne (local.get $yv) (local.get $yv)) (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000)))))
                (v128.store (i32.add (local.get $dz) (local.get $j)) (local.get $v))))
            (v128.store (i32.add (local.get $dbias) (local.get $j))
              (f32x4.add (v128.load (i32.add (local.get $dbias) (local.get $j))) (local.get $v)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $vloop)))
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_u (local.get $j) (local.get $end)))
            (local.set $s (f32.load (i32.add (local.get $dy) (local.get $j))))
            (if (local.get $relu)
              (then
                (local.set $ys (f32.load (i32.add (local.get $y) (local.get $j))))
                (local.set $s (f32.mul (local.get $s)
                  (select (f32.const 1)
                    (select (f32.const nan) (f32.const 0) (f32.ne (local.get $ys) (local.get $ys)))
                    (f32.gt (local.get $ys) (f32.const 0)))))
                (f32.store (i32.add (local.get $dz) (local.get $j)) (local.get $s))))
            (f32.store (i32.add (local.get $dbias) (local.get $j))
              (f32.add (f32.load (i32.add (local.get $dbias) (local.get $j))) (local.get $s)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $sloop)))
        (local.set $dy (i32.add (local.get $dy) (local.get $end)))
        (local.set $y (i32.add (local.get $y) (local.get $end)))
        (local.set $dz (i32.add (local.get $dz) (local.get $end)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rloop)))))
