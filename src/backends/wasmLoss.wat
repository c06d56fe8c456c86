;; The fused softmax cross-entropy kernel of rxtrain's wasm backend (contract C4 of issue 19).
;; `npm run build:wasm` compiles it (wabt) into wasmLossBinary.ts; a test checks that they agree.
;;
;; For logits x [n, c] (float32) and class ids y [n] (int32), one pass per row:
;;   m = max_j x_j          d_j = x_j - m (<= 0, so exp never overflows)      s = sum_j exp(d_j)
;;   row loss = log s - d_y                     dx_j = (exp(d_j) / s - [j = y]) / n
;; and loss = (sum of the row losses) / n. Everything after the float32 max is computed in f64
;; (the exponentials two lanes at a time) and rounded to float32 once, at the store, so the
;; results are the correctly rounded values of the f64 formulas (exp and log below are accurate to a few f64 ulps, i.e. ~2^-50 relative: the
;; float32 result is the correctly rounded one except when the exact value lies within ~2^-50 of
;; a float32 rounding midpoint, and then it is 1 float32 ulp off). A class id outside [0, c)
;; contributes no target (as tf.oneHot gives an all-zero row). NaN logits give NaN.
;; Pointers are byte offsets in the tfjs wasm backend's memory, which this module imports.
(module
  (import "env" "memory" (memory 0))

  ;; e^x in f64 for x in [-708, 709] (smaller x is clamped: its float32 result is 0 anyway).
  ;; x = k ln2 + r with |r| <= ln2/2 (ln2 split in two so that k ln2_hi is exact), e^r by its
  ;; Taylor polynomial of degree 13 (truncation < 5e-18 relative), then times 2^k built in the
  ;; exponent bits. NaN stays NaN (trunc_sat maps it to k = 0).
  (func $exp (export "exp") (param $x f64) (result f64)
    (local $k f64) (local $r f64) (local $p f64) (local $r2 f64) (local $r4 f64)
    (local $q0 f64) (local $q1 f64) (local $q2 f64) (local $q3 f64) (local $q4 f64) (local $q5 f64) (local $q6 f64)
    (local.set $x (f64.min (f64.max (local.get $x) (f64.const -708)) (f64.const 709)))
    (local.set $k (f64.nearest (f64.mul (local.get $x) (f64.const 0x1.71547652b82fep+0))))
    (local.set $r (f64.sub
      (f64.sub (local.get $x) (f64.mul (local.get $k) (f64.const 0x1.62e42fee00000p-1)))
      (f64.mul (local.get $k) (f64.const 0x1.a39ef35793c76p-33))))
    ;; Estrin's scheme (a tree of depth 4 instead of a chain of 13): sum of r^k / k!, k = 0..13
    (local.set $r2 (f64.mul (local.get $r) (local.get $r)))
    (local.set $r4 (f64.mul (local.get $r2) (local.get $r2)))
    (local.set $q0 (f64.add (f64.const 0x1.0000000000000p+0) (f64.mul (local.get $r) (f64.const 0x1.0000000000000p+0))))   ;; 1/1 + r/1
    (local.set $q1 (f64.add (f64.const 0x1.0000000000000p-1) (f64.mul (local.get $r) (f64.const 0x1.5555555555555p-3))))   ;; 1/2 + r/6
    (local.set $q2 (f64.add (f64.const 0x1.5555555555555p-5) (f64.mul (local.get $r) (f64.const 0x1.1111111111111p-7))))   ;; 1/24 + r/120
    (local.set $q3 (f64.add (f64.const 0x1.6c16c16c16c17p-10) (f64.mul (local.get $r) (f64.const 0x1.a01a01a01a01ap-13))))   ;; 1/720 + r/5040
    (local.set $q4 (f64.add (f64.const 0x1.a01a01a01a01ap-16) (f64.mul (local.get $r) (f64.const 0x1.71de3a556c734p-19))))   ;; 1/40320 + r/362880
    (local.set $q5 (f64.add (f64.const 0x1.27e4fb7789f5cp-22) (f64.mul (local.get $r) (f64.const 0x1.ae64567f544e4p-26))))   ;; 1/3628800 + r/39916800
    (local.set $q6 (f64.add (f64.const 0x1.1eed8eff8d898p-29) (f64.mul (local.get $r) (f64.const 0x1.6124613a86d09p-33))))   ;; 1/479001600 + r/6227020800
    (local.set $q0 (f64.add (local.get $q0) (f64.mul (local.get $r2) (local.get $q1))))
    (local.set $q2 (f64.add (local.get $q2) (f64.mul (local.get $r2) (local.get $q3))))
    (local.set $q4 (f64.add (local.get $q4) (f64.mul (local.get $r2) (local.get $q5))))
    (local.set $q0 (f64.add (local.get $q0) (f64.mul (local.get $r4) (local.get $q2))))
    (local.set $q4 (f64.add (local.get $q4) (f64.mul (local.get $r4) (local.get $q6))))
    (local.set $p (f64.add (local.get $q0) (f64.mul (f64.mul (local.get $r4) (local.get $r4)) (local.get $q4))))
    (f64.mul (local.get $p)
      (f64.reinterpret_i64 (i64.shl
        (i64.add (i64.trunc_sat_f64_s (local.get $k)) (i64.const 1023))
        (i64.const 52)))))

  ;; The same e^x on two lanes: every operation is the lane-wise twin of the one above, so each
  ;; lane's result is bitwise the scalar function's.
  (func $exp2 (param $x v128) (result v128)
    (local $k v128) (local $r v128) (local $p v128) (local $r2 v128) (local $r4 v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $q4 v128) (local $q5 v128) (local $q6 v128)
    (local.set $x (f64x2.min (f64x2.max (local.get $x) (v128.const f64x2 -708 -708)) (v128.const f64x2 709 709)))
    (local.set $k (f64x2.nearest (f64x2.mul (local.get $x) (v128.const f64x2 0x1.71547652b82fep+0 0x1.71547652b82fep+0))))
    (local.set $r (f64x2.sub
      (f64x2.sub (local.get $x) (f64x2.mul (local.get $k) (v128.const f64x2 0x1.62e42fee00000p-1 0x1.62e42fee00000p-1)))
      (f64x2.mul (local.get $k) (v128.const f64x2 0x1.a39ef35793c76p-33 0x1.a39ef35793c76p-33))))
    (local.set $r2 (f64x2.mul (local.get $r) (local.get $r)))
    (local.set $r4 (f64x2.mul (local.get $r2) (local.get $r2)))
    (local.set $q0 (f64x2.add (v128.const f64x2 0x1.0000000000000p+0 0x1.0000000000000p+0) (f64x2.mul (local.get $r) (v128.const f64x2 0x1.0000000000000p+0 0x1.0000000000000p+0))))   ;; 1/1 + r/1
    (local.set $q1 (f64x2.add (v128.const f64x2 0x1.0000000000000p-1 0x1.0000000000000p-1) (f64x2.mul (local.get $r) (v128.const f64x2 0x1.5555555555555p-3 0x1.5555555555555p-3))))   ;; 1/2 + r/6
    (local.set $q2 (f64x2.add (v128.const f64x2 0x1.5555555555555p-5 0x1.5555555555555p-5) (f64x2.mul (local.get $r) (v128.const f64x2 0x1.1111111111111p-7 0x1.1111111111111p-7))))   ;; 1/24 + r/120
    (local.set $q3 (f64x2.add (v128.const f64x2 0x1.6c16c16c16c17p-10 0x1.6c16c16c16c17p-10) (f64x2.mul (local.get $r) (v128.const f64x2 0x1.a01a01a01a01ap-13 0x1.a01a01a01a01ap-13))))   ;; 1/720 + r/5040
    (local.set $q4 (f64x2.add (v128.const f64x2 0x1.a01a01a01a01ap-16 0x1.a01a01a01a01ap-16) (f64x2.mul (local.get $r) (v128.const f64x2 0x1.71de3a556c734p-19 0x1.71de3a556c734p-19))))   ;; 1/40320 + r/362880
    (local.set $q5 (f64x2.add (v128.const f64x2 0x1.27e4fb7789f5cp-22 0x1.27e4fb7789f5cp-22) (f64x2.mul (local.get $r) (v128.const f64x2 0x1.ae64567f544e4p-26 0x1.ae64567f544e4p-26))))   ;; 1/3628800 + r/39916800
    (local.set $q6 (f64x2.add (v128.const f64x2 0x1.1eed8eff8d898p-29 0x1.1eed8eff8d898p-29) (f64x2.mul (local.get $r) (v128.const f64x2 0x1.6124613a86d09p-33 0x1.6124613a86d09p-33))))   ;; 1/479001600 + r/6227020800
    (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $r2) (local.get $q1))))
    (local.set $q2 (f64x2.add (local.get $q2) (f64x2.mul (local.get $r2) (local.get $q3))))
    (local.set $q4 (f64x2.add (local.get $q4) (f64x2.mul (local.get $r2) (local.get $q5))))
    (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $r4) (local.get $q2))))
    (local.set $q4 (f64x2.add (local.get $q4) (f64x2.mul (local.get $r4) (local.get $q6))))
    (local.set $p (f64x2.add (local.get $q0) (f64x2.mul (f64x2.mul (local.get $r4) (local.get $r4)) (local.get $q4))))
    (f64x2.mul (local.get $p)
      (i64x2.shl
        (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $k))) (v128.const i64x2 1023 1023))
        (i32.const 52))))

  ;; ln x in f64 for a positive normal x (here x = s in [1, c]). x = 2^e m with m in
  ;; [sqrt(1/2), sqrt(2)); ln m = 2 atanh(f), f = (m - 1)/(m + 1), |f| <= 0.1716, by its series
  ;; to f^21 (truncation < 1e-18 relative); then e ln2 + ln m. NaN and infinities give NaN.
  (func $log (export "log") (param $x f64) (result f64)
    (local $bits i64) (local $e f64) (local $m f64) (local $f f64) (local $f2 f64) (local $q f64)
    (local.set $bits (i64.reinterpret_f64 (local.get $x)))
    (local.set $e (f64.convert_i64_s (i64.sub (i64.shr_u (local.get $bits) (i64.const 52)) (i64.const 1023))))
    (local.set $m (f64.reinterpret_i64 (i64.or
      (i64.and (local.get $bits) (i64.const 0x000fffffffffffff))
      (i64.const 0x3ff0000000000000))))
    (if (f64.gt (local.get $m) (f64.const 0x1.6a09e667f3bcdp+0))
      (then
        (local.set $m (f64.mul (local.get $m) (f64.const 0.5)))
        (local.set $e (f64.add (local.get $e) (f64.const 1)))))
    (local.set $f (f64.div (f64.sub (local.get $m) (f64.const 1)) (f64.add (local.get $m) (f64.const 1))))
    (local.set $f2 (f64.mul (local.get $f) (local.get $f)))
    ;; Horner in f^2: 1 + f2/3 + f2^2/5 + ... + f2^10/21
    (local.set $q (f64.const 0x1.8618618618618p-5))   ;; 1/21
    (local.set $q (f64.add (f64.const 0x1.af286bca1af28p-5) (f64.mul (local.get $f2) (local.get $q))))   ;; 1/19
    (local.set $q (f64.add (f64.const 0x1.e1e1e1e1e1e1ep-5) (f64.mul (local.get $f2) (local.get $q))))   ;; 1/17
    (local.set $q (f64.add (f64.const 0x1.1111111111111p-4) (f64.mul (local.get $f2) (local.get $q))))   ;; 1/15
    (local.set $q (f64.add (f64.const 0x1.3b13b13b13b14p-4) (f64.mul (local.get $f2) (local.get $q))))   ;; 1/13
    (local.set $q (f64.add (f64.const 0x1.745d1745d1746p-4) (f64.mul (local.get $f2) (local.get $q))))   ;; 1/11
    (local.set $q (f64.add (f64.const 0x1.c71c71c71c71cp-4) (f64.mul (local.get $f2) (local.get $q))))   ;; 1/9
    (local.set $q (f64.add (f64.const 0x1.2492492492492p-3) (f64.mul (local.get $f2) (local.get $q))))   ;; 1/7
    (local.set $q (f64.add (f64.const 0x1.999999999999ap-3) (f64.mul (local.get $f2) (local.get $q))))   ;; 1/5
    (local.set $q (f64.add (f64.const 0x1.5555555555555p-2) (f64.mul (local.get $f2) (local.get $q))))   ;; 1/3
    (local.set $q (f64.add (f64.const 1) (f64.mul (local.get $f2) (local.get $q))))
    (f64.add
      (f64.mul (local.get $e) (f64.const 0x1.62e42fefa39efp-1))
      (f64.mul (f64.mul (f64.const 2) (local.get $f)) (local.get $q))))

  ;; The kernel: logits at $x, ids at $y, gradient to $dx, the mean loss (one float32) to $loss;
  ;; $tmp is scratch for one row's exponentials (c f64 values). Per row: the max; exp(x_j - m) two
  ;; lanes at a time (then the last one) into $tmp, summed in two lanes, s = s0 + s1 (+ the last);
  ;; the row loss; dx_j = (e_j / s - [j = y]) / n.
  (func (export "softmaxCrossEntropy")
    (param $x i32) (param $y i32) (param $dx i32) (param $loss i32) (param $n i32) (param $c i32) (param $tmp i32)
    (local $row i32) (local $at i32) (local $out i32) (local $label i32) (local $j i32) (local $pairs i32)
    (local $m f32) (local $mv v128) (local $e v128) (local $sv v128) (local $s f64) (local $d f64) (local $total f64) (local $inv f64) (local $g f64)
    (local.set $inv (f64.div (f64.const 1) (f64.convert_i32_u (local.get $n))))
    (local.set $pairs (i32.and (local.get $c) (i32.const -2)))
    (block $rows
      (loop $rowLoop
        (br_if $rows (i32.ge_u (local.get $row) (local.get $n)))
        (local.set $at (i32.add (local.get $x) (i32.shl (i32.mul (local.get $row) (local.get $c)) (i32.const 2))))
        (local.set $out (i32.add (local.get $dx) (i32.shl (i32.mul (local.get $row) (local.get $c)) (i32.const 2))))
        (local.set $label (i32.load (i32.add (local.get $y) (i32.shl (local.get $row) (i32.const 2)))))
        ;; m = max of the row (f32.max propagates NaN)
        (local.set $m (f32.const -inf))
        (local.set $j (i32.const 0))
        (block $mdone
          (loop $mloop
            (br_if $mdone (i32.ge_u (local.get $j) (local.get $c)))
            (local.set $m (f32.max (local.get $m) (f32.load (i32.add (local.get $at) (i32.shl (local.get $j) (i32.const 2))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $mloop)))
        (local.set $mv (f64x2.splat (f64.promote_f32 (local.get $m))))
        ;; e_j = exp(x_j - m) to $tmp, two at a time; the lanes sum the even and the odd j
        (local.set $sv (v128.const f64x2 0 0))
        (local.set $j (i32.const 0))
        (block $edone
          (loop $eloop
            (br_if $edone (i32.ge_u (local.get $j) (local.get $pairs)))
            (local.set $e (call $exp2 (f64x2.sub
              (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $at) (i32.shl (local.get $j) (i32.const 2)))))
              (local.get $mv))))
            (v128.store (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 3))) (local.get $e))
            (local.set $sv (f64x2.add (local.get $sv) (local.get $e)))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $eloop)))
        (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $sv)) (f64x2.extract_lane 1 (local.get $sv))))
        (if (i32.lt_u (local.get $pairs) (local.get $c))
          (then
            (local.set $d (call $exp (f64.sub
              (f64.promote_f32 (f32.load (i32.add (local.get $at) (i32.shl (local.get $pairs) (i32.const 2)))))
              (f64.promote_f32 (local.get $m)))))
            (f64.store (i32.add (local.get $tmp) (i32.shl (local.get $pairs) (i32.const 3))) (local.get $d))
            (local.set $s (f64.add (local.get $s) (local.get $d)))))
        ;; row loss = log s - (x_y - m)
        (local.set $d (f64.const 0))
        (if (i32.lt_u (local.get $label) (local.get $c))
          (then (local.set $d (f64.sub
            (f64.promote_f32 (f32.load (i32.add (local.get $at) (i32.shl (local.get $label) (i32.const 2)))))
            (f64.promote_f32 (local.get $m))))))
        (local.set $total (f64.add (local.get $total) (f64.sub (call $log (local.get $s)) (local.get $d))))
        ;; dx_j = (e_j / s - [j = y]) / n
        (local.set $j (i32.const 0))
        (block $gdone
          (loop $gloop
            (br_if $gdone (i32.ge_u (local.get $j) (local.get $c)))
            (local.set $g (f64.div (f64.load (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 3)))) (local.get $s)))
            (if (i32.eq (local.get $j) (local.get $label))
              (then (local.set $g (f64.sub (local.get $g) (f64.const 1)))))
            (f32.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2)))
              (f32.demote_f64 (f64.mul (local.get $g) (local.get $inv))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $gloop)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rowLoop)))
    (f32.store (local.get $loss) (f32.demote_f64 (f64.mul (local.get $total) (local.get $inv))))))
