;; The fused Adam kernel of rxtrain's wasm backend. `npm run build:wasm` compiles it (wabt) into
;; wasmAdamBinary.ts; a test checks that the two agree.
(module
  (import "env" "memory" (memory 0))
  ;; Adam's moments and update of n float32 values in one pass (4 lanes at a time, then the rest):
  ;;   mo = m b1 + g c1      vo = v b2 + (g g) c2      uo = (mo / k1) / (sqrt(vo / k2) + eps)
  ;; Every product, sum, quotient and root is a float32 operation in the order tfjs's ops apply
  ;; them one kernel at a time, so the results are bitwise the same. Pointers are byte offsets in
  ;; the tfjs wasm backend's memory, which this module imports.
  (func (export "adam")
    (param $g i32) (param $m i32) (param $v i32) (param $mo i32) (param $vo i32) (param $uo i32) (param $n i32)
    (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32) (param $k1 f32) (param $k2 f32) (param $eps f32)
    (local $off i32) (local $end i32)
    (local $B1 v128) (local $C1 v128) (local $B2 v128) (local $C2 v128) (local $K1 v128) (local $K2 v128) (local $E v128)
    (local $gg v128) (local $mm v128) (local $vv v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $B1 (f32x4.splat (local.get $b1)))
    (local.set $C1 (f32x4.splat (local.get $c1)))
    (local.set $B2 (f32x4.splat (local.get $b2)))
    (local.set $C2 (f32x4.splat (local.get $c2)))
    (local.set $K1 (f32x4.splat (local.get $k1)))
    (local.set $K2 (f32x4.splat (local.get $k2)))
    (local.set $E (f32x4.splat (local.get $eps)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $gg (v128.load (i32.add (local.get $g) (local.get $off))))
        (local.set $mm (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $off))) (local.get $B1))
          (f32x4.mul (local.get $gg) (local.get $C1))))
        (local.set $vv (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $off))) (local.get $B2))
          (f32x4.mul (f32x4.mul (local.get $gg) (local.get $gg)) (local.get $C2))))
        (v128.store (i32.add (local.get $mo) (local.get $off)) (local.get $mm))
        (v128.store (i32.add (local.get $vo) (local.get $off)) (local.get $vv))
        (v128.store (i32.add (local.get $uo) (local.get $off))
          (f32x4.div
            (f32x4.div (local.get $mm) (local.get $K1))
            (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (local.get $K2))) (local.get $E))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $vloop)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $off))))
        (local.set $ms (f32.add
          (f32.mul (f32.load (i32.add (local.get $m) (local.get $off))) (local.get $b1))
          (f32.mul (local.get $gs) (local.get $c1))))
        (local.set $vs (f32.add
          (f32.mul (f32.load (i32.add (local.get $v) (local.get $off))) (local.get $b2))
          (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $c2))))
        (f32.store (i32.add (local.get $mo) (local.get $off)) (local.get $ms))
        (f32.store (i32.add (local.get $vo) (local.get $off)) (local.get $vs))
        (f32.store (i32.add (local.get $uo) (local.get $off))
          (f32.div
            (f32.div (local.get $ms) (local.get $k1))
            (f32.add (f32.sqrt (f32.div (local.get $vs) (local.get $k2))) (local.get $eps))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br $sloop))))
  ;; Adam's moments, its update scaled by s (= -lr as float32) and the new parameter, in one pass:
  ;;   mo, vo as above      u = (mo / k1) / (sqrt(vo / k2) + eps)      po = p + u s
  ;; The same float32 operations, in the same order, as `adam` op by op followed by the learning
  ;; rate's `tf.mul(u, -lr)` and `applyUpdates`' `tf.add(p, update)`: bitwise the same parameters,
  ;; with one pass over seven arrays instead of passes over eleven.
  (func (export "adamStep")
    (param $g i32) (param $m i32) (param $v i32) (param $p i32) (param $mo i32) (param $vo i32) (param $po i32) (param $n i32)
    (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32) (param $k1 f32) (param $k2 f32) (param $eps f32) (param $s f32)
    (local $off i32) (local $end i32)
    (local $B1 v128) (local $C1 v128) (local $B2 v128) (local $C2 v128) (local $K1 v128) (local $K2 v128) (local $E v128) (local $S v128)
    (local $gg v128) (local $mm v128) (local $vv v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $B1 (f32x4.splat (local.get $b1)))
    (local.set $C1 (f32x4.splat (local.get $c1)))
    (local.set $B2 (f32x4.splat (local.get $b2)))
    (local.set $C2 (f32x4.splat (local.get $c2)))
    (local.set $K1 (f32x4.splat (local.get $k1)))
    (local.set $K2 (f32x4.splat (local.get $k2)))
    (local.set $E (f32x4.splat (local.get $eps)))
    (local.set $S (f32x4.splat (local.get $s)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $gg (v128.load (i32.add (local.get $g) (local.get $off))))
        (local.set $mm (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $off))) (local.get $B1))
          (f32x4.mul (local.get $gg) (local.get $C1))))
        (local.set $vv (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $off))) (local.get $B2))
          (f32x4.mul (f32x4.mul (local.get $gg) (local.get $gg)) (local.get $C2))))
        (v128.store (i32.add (local.get $mo) (local.get $off)) (local.get $mm))
        (v128.store (i32.add (local.get $vo) (local.get $off)) (local.get $vv))
        (v128.store (i32.add (local.get $po) (local.get $off))
          (f32x4.add
            (v128.load (i32.add (local.get $p) (local.get $off)))
            (f32x4.mul
              (f32x4.div
                (f32x4.div (local.get $mm) (local.get $K1))
                (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (local.get $K2))) (local.get $E)))
              (local.get $S))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $vloop)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $off))))
        (local.set $ms (f32.add
          (f32.mul (f32.load (i32.add (local.get $m) (local.get $off))) (local.get $b1))
          (f32.mul (local.get $gs) (local.get $c1))))
        (local.set $vs (f32.add
          (f32.mul (f32.load (i32.add (local.get $v) (local.get $off))) (local.get $b2))
          (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $c2))))
        (f32.store (i32.add (local.get $mo) (local.get $off)) (local.get $ms))
        (f32.store (i32.add (local.get $vo) (local.get $off)) (local.get $vs))
        (f32.store (i32.add (local.get $po) (local.get $off))
          (f32.add
            (f32.load (i32.add (local.get $p) (local.get $off)))
            (f32.mul
              (f32.div
                (f32.div (local.get $ms) (local.get $k1))
                (f32.add (f32.sqrt (f32.div (local.get $vs) (local.get $k2))) (local.get $eps)))
              (local.get $s))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br $sloop)))))
