;; The matrix product of rxtrain's wasm backend: C[m, n] = act(bias + op(A) op(B)).
;; `npm run build:wasm` compiles it (wabt) into wasmGemmBinary.ts; a test checks that the two agree.
;;
;; XNNPACK (tfjs-backend-wasm's BatchMatMul) packs and transposes B into an operator of its own,
;; once per new B tensor, and in training every weight is new after each step. This kernel keeps
;; no state: it copies one 8-column panel of B at a time into a scratch area (k rows of 32 bytes,
;; which stay in the L1 cache while every block of 4 rows of A goes by; B's own rows, n * 4 bytes
;; apart, would fall into a few cache sets), gathering it there when B is given transposed. It
;; reads a row-major A where it lies; a transposed A (stored [k, m], as x in the weight gradient
;; x^T dy: the 4 values of rows i..i+3 at one k are contiguous) is first copied once into
;; blocks of 4 columns, [m / 4, k, 4], so that every panel reads each block contiguously rather
;; than 16 bytes from each of k cache lines (x^T dh ran 13% slower than the same product with A
;; already transposed; with the copy, as fast). Nothing is transposed.
;; Every output is accumulated as XNNPACK's f32 GEMM micro-kernels do it: from the bias (or +0),
;; over k in order, a multiplication then an addition (no fused multiply-add), so the results are
;; bitwise the same. Blocks of 4 rows x 8 columns keep 8 accumulators in registers (6 rows would
;; need 16 of V8's 15 SIMD registers); the last rows go one at a time, and the last panel is
;; zero-padded to 8 columns. Pointers are byte offsets in the tfjs wasm backend's memory, which
;; this module imports.
;;
;; How V8 (TurboFan, x64) compiles it decides the speed, so the shape of the code matters, checked
;; with `node --print-wasm-code --no-liftoff`: a loop of one k step spent some 20 instructions
;; per step on pointer copies, zero extensions and its stack check next to the 22 loads and
;; products, so k is unrolled by 4. But V8 schedules every load of a basic block before the
;; arithmetic that uses it: 4 steps in one block loaded 24 values at once and spilled them to the
;; stack (slower than no unrolling). So each step ends with a conditional exit (the k steps left),
;; which starts a new block: the loads stay with their step, and no remainder loop is needed.
(module
  (import "env" "memory" (memory 0))

  ;; The activation: none, or ReLU as XNNPACK's x86 micro-kernels clamp (pmax(0, v): NaN gives 0;
  ;; on an ARM host XNNPACK's own would keep the NaN).
  (func $act (param $v v128) (param $relu i32) (result v128)
    (if (result v128) (local.get $relu)
      (then (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $v)))
      (else (local.get $v))))

  ;; Stores one row of a tile: 8 values, or the first $cols of them through $tmp (32 bytes).
  (func $store (param $dst i32) (param $v0 v128) (param $v1 v128) (param $cols i32) (param $relu i32) (param $tmp i32)
    (local $j i32)
    (local.set $v0 (call $act (local.get $v0) (local.get $relu)))
    (local.set $v1 (call $act (local.get $v1) (local.get $relu)))
    (if (i32.eq (local.get $cols) (i32.const 8))
      (then
        (v128.store (local.get $dst) (local.get $v0))
        (v128.store offset=16 (local.get $dst) (local.get $v1))
        (return)))
    (v128.store (local.get $tmp) (local.get $v0))
    (v128.store offset=16 (local.get $tmp) (local.get $v1))
    (block $done
      (loop $copy
        (br_if $done (i32.ge_u (local.get $j) (local.get $cols)))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
          (f32.load (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $copy))))

  ;; $blocks blocks of 4 rows of a row-major A (rows $ai bytes apart, the first at $p0), each by
  ;; one packed panel of B (at $pb, rows 32 bytes apart), into C from $pc (rows $ldc bytes apart).
  ;; One call for all the blocks of a panel: a call per block (its arguments, V8's prologue) cost
  ;; some 2% of x^T dh (k = 128) and 14% of dy W2^T (k = 10). k is unrolled by 4: A read at offsets
  ;; 0, 4, 8, 12, one update per pointer per 4 steps, and an exit after each step once $p0
  ;; reaches $end - 4 * (steps done) ($e1 .. $e3). The stores follow the loop over k.
  (func $tile4n
    (param $p0 i32) (param $ai i32) (param $pb i32) (param $k i32)
    (param $bias0 v128) (param $bias1 v128) (param $pc i32) (param $ldc i32) (param $cols i32) (param $relu i32) (param $tmp i32) (param $blocks i32)
    (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $end i32) (local $e1 i32) (local $e2 i32) (local $e3 i32)
    (local $scratchpb i32) (local $row i32) (local $pcrow i32) (local $pcX i32)
    (local $va v128) (local $vb0 v128) (local $vb1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $scratchpb (local.get $pb))
    (local.set $row (local.get $p0))
    (local.set $pcrow (local.get $pc))
    (loop $rows
      (local.set $pcX (local.get $pcrow))
      (local.set $c00 (local.get $bias0)) (local.set $c01 (local.get $bias1))
      (local.set $c10 (local.get $bias0)) (local.set $c11 (local.get $bias1))
      (local.set $c20 (local.get $bias0)) (local.set $c21 (local.get $bias1))
      (local.set $c30 (local.get $bias0)) (local.set $c31 (local.get $bias1))
      (local.set $p0 (local.get $row))
      (local.set $p1 (i32.add (local.get $p0) (local.get $ai)))
      (local.set $p2 (i32.add (local.get $p1) (local.get $ai)))
      (local.set $p3 (i32.add (local.get $p2) (local.get $ai)))
      (local.set $pb (local.get $scratchpb))
      (local.set $end (i32.add (local.get $p0) (i32.shl (local.get $k) (i32.const 2))))
      (local.set $e1 (i32.sub (local.get $end) (i32.const 4)))
      (local.set $e2 (i32.sub (local.get $end) (i32.const 8)))
      (local.set $e3 (i32.sub (local.get $end) (i32.const 12)))
      (block $exit
        (br_if $exit (i32.ge_u (local.get $p0) (local.get $end)))
        (loop $k4
          (local.set $vb0 (v128.load offset=0 (local.get $pb)))
          (local.set $vb1 (v128.load offset=16 (local.get $pb)))
          (local.set $va (v128.load32_splat offset=0 (local.get $p0)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=0 (local.get $p1)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=0 (local.get $p2)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=0 (local.get $p3)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $va) (local.get $vb1))))
          (br_if $exit (i32.ge_u (local.get $p0) (local.get $e1)))
          (local.set $vb0 (v128.load offset=32 (local.get $pb)))
          (local.set $vb1 (v128.load offset=48 (local.get $pb)))
          (local.set $va (v128.load32_splat offset=4 (local.get $p0)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=4 (local.get $p1)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=4 (local.get $p2)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=4 (local.get $p3)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $va) (local.get $vb1))))
          (br_if $exit (i32.ge_u (local.get $p0) (local.get $e2)))
          (local.set $vb0 (v128.load offset=64 (local.get $pb)))
          (local.set $vb1 (v128.load offset=80 (local.get $pb)))
          (local.set $va (v128.load32_splat offset=8 (local.get $p0)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=8 (local.get $p1)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=8 (local.get $p2)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=8 (local.get $p3)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $va) (local.get $vb1))))
          (br_if $exit (i32.ge_u (local.get $p0) (local.get $e3)))
          (local.set $vb0 (v128.load offset=96 (local.get $pb)))
          (local.set $vb1 (v128.load offset=112 (local.get $pb)))
          (local.set $va (v128.load32_splat offset=12 (local.get $p0)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=12 (local.get $p1)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=12 (local.get $p2)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=12 (local.get $p3)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
          (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
          (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
          (local.set $p3 (i32.add (local.get $p3) (i32.const 16)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 128)))
          (br_if $k4 (i32.lt_u (local.get $p0) (local.get $end)))))
      (if (local.get $relu)
        (then
          (local.set $c00 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c00)))
          (local.set $c01 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c01)))
          (local.set $c10 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c10)))
          (local.set $c11 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c11)))
          (local.set $c20 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c20)))
          (local.set $c21 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c21)))
          (local.set $c30 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c30)))
          (local.set $c31 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c31)))))
      (if (i32.eq (local.get $cols) (i32.const 8))
        (then
          (v128.store (local.get $pcX) (local.get $c00))
          (v128.store offset=16 (local.get $pcX) (local.get $c01))
          (local.set $pcX (i32.add (local.get $pcX) (local.get $ldc)))
          (v128.store (local.get $pcX) (local.get $c10))
          (v128.store offset=16 (local.get $pcX) (local.get $c11))
          (local.set $pcX (i32.add (local.get $pcX) (local.get $ldc)))
          (v128.store (local.get $pcX) (local.get $c20))
          (v128.store offset=16 (local.get $pcX) (local.get $c21))
          (local.set $pcX (i32.add (local.get $pcX) (local.get $ldc)))
          (v128.store (local.get $pcX) (local.get $c30))
          (v128.store offset=16 (local.get $pcX) (local.get $c31)))
        (else
          ;; Fewer than 8 columns (the activation is applied already).
          (call $store (local.get $pcX) (local.get $c00) (local.get $c01) (local.get $cols) (i32.const 0) (local.get $tmp))
          (local.set $pcX (i32.add (local.get $pcX) (local.get $ldc)))
          (call $store (local.get $pcX) (local.get $c10) (local.get $c11) (local.get $cols) (i32.const 0) (local.get $tmp))
          (local.set $pcX (i32.add (local.get $pcX) (local.get $ldc)))
          (call $store (local.get $pcX) (local.get $c20) (local.get $c21) (local.get $cols) (i32.const 0) (local.get $tmp))
          (local.set $pcX (i32.add (local.get $pcX) (local.get $ldc)))
          (call $store (local.get $pcX) (local.get $c30) (local.get $c31) (local.get $cols) (i32.const 0) (local.get $tmp))))
      (local.set $row (i32.add (local.get $row) (i32.shl (local.get $ai) (i32.const 2))))
      (local.set $pcrow (i32.add (local.get $pcrow) (i32.shl (local.get $ldc) (i32.const 2))))
      (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
      (br_if $rows (local.get $blocks))))

  ;; $blocks blocks of 4 rows of a transposed A copied by $packA (each block k rows of 16 bytes,
  ;; the first at $pa, the next $as bytes on) by one packed panel of B, as $tile4n does for a
  ;; row-major A: one pointer, $q0, for A (the 4 steps at offsets 0 to 63), $e1 .. $e3 on the
  ;; panel's pointer. (Loading a row's 4 values at once and broadcasting the lanes would take the
  ;; floating-point pipes that the products need.)
  (func $tile4t
    (param $pa i32) (param $pb i32) (param $k i32)
    (param $bias0 v128) (param $bias1 v128) (param $pc i32) (param $ldc i32) (param $cols i32) (param $relu i32) (param $tmp i32) (param $blocks i32) (param $as i32)
    (local $q0 i32) (local $end i32) (local $e1 i32) (local $e2 i32) (local $e3 i32)
    (local $scratchpb i32) (local $row i32) (local $pcrow i32) (local $pcX i32)
    (local $va v128) (local $vb0 v128) (local $vb1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $scratchpb (local.get $pb))
    (local.set $row (local.get $pa))
    (local.set $pcrow (local.get $pc))
    (loop $rows
      (local.set $pcX (local.get $pcrow))
      (local.set $c00 (local.get $bias0)) (local.set $c01 (local.get $bias1))
      (local.set $c10 (local.get $bias0)) (local.set $c11 (local.get $bias1))
      (local.set $c20 (local.get $bias0)) (local.set $c21 (local.get $bias1))
      (local.set $c30 (local.get $bias0)) (local.set $c31 (local.get $bias1))
      (local.set $q0 (local.get $row))
      (local.set $pb (local.get $scratchpb))
      (local.set $end (i32.add (local.get $pb) (i32.shl (local.get $k) (i32.const 5))))
      (local.set $e1 (i32.sub (local.get $end) (i32.const 32)))
      (local.set $e2 (i32.sub (local.get $end) (i32.const 64)))
      (local.set $e3 (i32.sub (local.get $end) (i32.const 96)))
      (block $exit
        (br_if $exit (i32.ge_u (local.get $pb) (local.get $end)))
        (loop $k4
          (local.set $vb0 (v128.load offset=0 (local.get $pb)))
          (local.set $vb1 (v128.load offset=16 (local.get $pb)))
          (local.set $va (v128.load32_splat offset=0 (local.get $q0)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=4 (local.get $q0)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=8 (local.get $q0)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=12 (local.get $q0)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $va) (local.get $vb1))))
          (br_if $exit (i32.ge_u (local.get $pb) (local.get $e1)))
          (local.set $vb0 (v128.load offset=32 (local.get $pb)))
          (local.set $vb1 (v128.load offset=48 (local.get $pb)))
          (local.set $va (v128.load32_splat offset=16 (local.get $q0)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=20 (local.get $q0)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=24 (local.get $q0)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=28 (local.get $q0)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $va) (local.get $vb1))))
          (br_if $exit (i32.ge_u (local.get $pb) (local.get $e2)))
          (local.set $vb0 (v128.load offset=64 (local.get $pb)))
          (local.set $vb1 (v128.load offset=80 (local.get $pb)))
          (local.set $va (v128.load32_splat offset=32 (local.get $q0)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=36 (local.get $q0)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=40 (local.get $q0)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=44 (local.get $q0)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $va) (local.get $vb1))))
          (br_if $exit (i32.ge_u (local.get $pb) (local.get $e3)))
          (local.set $vb0 (v128.load offset=96 (local.get $pb)))
          (local.set $vb1 (v128.load offset=112 (local.get $pb)))
          (local.set $va (v128.load32_splat offset=48 (local.get $q0)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=52 (local.get $q0)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=56 (local.get $q0)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $va (v128.load32_splat offset=60 (local.get $q0)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $va) (local.get $vb0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $va) (local.get $vb1))))
          (local.set $q0 (i32.add (local.get $q0) (i32.const 64)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 128)))
          (br_if $k4 (i32.lt_u (local.get $pb) (local.get $end)))))
      (if (local.get $relu)
        (then
          (local.set $c00 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c00)))
          (local.set $c01 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c01)))
          (local.set $c10 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c10)))
          (local.set $c11 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c11)))
          (local.set $c20 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c20)))
          (local.set $c21 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c21)))
          (local.set $c30 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c30)))
          (local.set $c31 (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $c31)))))
      (if (i32.eq (local.get $cols) (i32.const 8))
        (then
          (v128.store (local.get $pcX) (local.get $c00))
          (v128.store offset=16 (local.get $pcX) (local.get $c01))
          (local.set $pcX (i32.add (local.get $pcX) (local.get $ldc)))
          (v128.store (local.get $pcX) (local.get $c10))
          (v128.store offset=16 (local.get $pcX) (local.get $c11))
          (local.set $pcX (i32.add (local.get $pcX) (local.get $ldc)))
          (v128.store (local.get $pcX) (local.get $c20))
          (v128.store offset=16 (local.get $pcX) (local.get $c21))
          (local.set $pcX (i32.add (local.get $pcX) (local.get $ldc)))
          (v128.store (local.get $pcX) (local.get $c30))
          (v128.store offset=16 (local.get $pcX) (local.get $c31)))
        (else
          ;; Fewer than 8 columns (the activation is applied already).
          (call $store (local.get $pcX) (local.get $c00) (local.get $c01) (local.get $cols) (i32.const 0) (local.get $tmp))
          (local.set $pcX (i32.add (local.get $pcX) (local.get $ldc)))
          (call $store (local.get $pcX) (local.get $c10) (local.get $c11) (local.get $cols) (i32.const 0) (local.get $tmp))
          (local.set $pcX (i32.add (local.get $pcX) (local.get $ldc)))
          (call $store (local.get $pcX) (local.get $c20) (local.get $c21) (local.get $cols) (i32.const 0) (local.get $tmp))
          (local.set $pcX (i32.add (local.get $pcX) (local.get $ldc)))
          (call $store (local.get $pcX) (local.get $c30) (local.get $c31) (local.get $cols) (i32.const 0) (local.get $tmp))))
      (local.set $row (i32.add (local.get $row) (local.get $as)))
      (local.set $pcrow (i32.add (local.get $pcrow) (i32.shl (local.get $ldc) (i32.const 2))))
      (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
      (br_if $rows (local.get $blocks))))

  ;; 1 row of A, either layout ($ak bytes from one k to the next), by one packed panel of B.
  (func $tile1
    (param $pa i32) (param $ak i32) (param $pb i32) (param $k i32)
    (param $bias0 v128) (param $bias1 v128) (param $pc i32) (param $cols i32) (param $relu i32) (param $tmp i32)
    (local $kk i32) (local $va v128) (local $c0 v128) (local $c1 v128)
    (local.set $c0 (local.get $bias0))
    (local.set $c1 (local.get $bias1))
    (block $done
      (loop $kloop
        (br_if $done (i32.ge_u (local.get $kk) (local.get $k)))
        (local.set $va (v128.load32_splat (local.get $pa)))
        (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $va) (v128.load (local.get $pb)))))
        (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $va) (v128.load offset=16 (local.get $pb)))))
        (local.set $pa (i32.add (local.get $pa) (local.get $ak)))
        (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
        (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
        (br $kloop)))
    (call $store (local.get $pc) (local.get $c0) (local.get $c1) (local.get $cols) (local.get $relu) (local.get $tmp)))

  ;; Copies the first m - m % 4 columns of A [k, m] (a transposed A) to $dst in blocks of 4
  ;; columns, [m / 4, k, 4]: each block's k rows of 16 bytes contiguous, as $tile4t reads them
  ;; for every panel of B (in place they lie m * 4 bytes apart, one cache line each).
  (func $packA (param $dst i32) (param $a i32) (param $m i32) (param $k i32)
    (local $src i32) (local $col i32) (local $end i32) (local $lda i32) (local $left i32)
    (local.set $lda (i32.shl (local.get $m) (i32.const 2)))
    (local.set $col (local.get $a))
    (local.set $end (i32.add (local.get $a) (i32.shl (i32.and (local.get $m) (i32.const -4)) (i32.const 2))))
    (if (i32.eqz (local.get $k)) (then (return)))
    (loop $blocks
      (local.set $src (local.get $col))
      (local.set $left (local.get $k))
      (loop $row
        (v128.store (local.get $dst) (v128.load (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (local.get $lda)))
        (local.set $left (i32.sub (local.get $left) (i32.const 1)))
        (br_if $row (local.get $left)))
      (local.set $col (i32.add (local.get $col) (i32.const 16)))
      (br_if $blocks (i32.lt_u (local.get $col) (local.get $end)))))

  ;; Copies columns j0 .. j0 + cols - 1 of op(B) into the panel at $dst ([k, 8], zero-padded).
  ;; B[kk, j] lies at $b + (kk * $sk + j * $sj) * 4: ($sk, $sj) = (n, 1), or (1, k) transposed.
  (func $pack (param $dst i32) (param $b i32) (param $sk i32) (param $sj i32) (param $j0 i32) (param $cols i32) (param $k i32)
    (local $kk i32) (local $jj i32) (local $src i32)
    (block $rows
      (loop $row
        (br_if $rows (i32.ge_u (local.get $kk) (local.get $k)))
        (local.set $src (i32.add (local.get $b)
          (i32.shl (i32.add (i32.mul (local.get $kk) (local.get $sk)) (i32.mul (local.get $j0) (local.get $sj))) (i32.const 2))))
        (if (i32.and (i32.eq (local.get $cols) (i32.const 8)) (i32.eq (local.get $sj) (i32.const 1)))
          (then
            (v128.store (local.get $dst) (v128.load (local.get $src)))
            (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $src))))
          (else
            (v128.store (local.get $dst) (v128.const i32x4 0 0 0 0))
            (v128.store offset=16 (local.get $dst) (v128.const i32x4 0 0 0 0))
            (local.set $jj (i32.const 0))
            (block $cols
              (loop $col
                (br_if $cols (i32.ge_u (local.get $jj) (local.get $cols)))
                (f32.store (i32.add (local.get $dst) (i32.shl (local.get $jj) (i32.const 2)))
                  (f32.load (i32.add (local.get $src) (i32.shl (i32.mul (local.get $jj) (local.get $sj)) (i32.const 2)))))
                (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
                (br $col)))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
        (br $row))))

  ;; C [m, n] = act(bias + op(A) op(B)): op(A) is A [m, k], or with $transA the transposition of
  ;; A [k, m]; op(B) is B [k, n], or with $transB the transposition of B [n, k]; $bias is 0 (none)
  ;; or n floats; $relu 1 for ReLU; $scratch is k * 8 + 8 floats, and (m - m % 4) * k more with
  ;; $transA.
  (func (export "gemm")
    (param $a i32) (param $b i32) (param $c i32) (param $bias i32) (param $m i32) (param $n i32) (param $k i32)
    (param $transA i32) (param $transB i32) (param $relu i32) (param $scratch i32)
    (local $ai i32) (local $ak i32) (local $sk i32) (local $sj i32) (local $ldc i32) (local $j0 i32) (local $cols i32)
    (local $tmp i32) (local $i i32) (local $jj i32) (local $pc i32) (local $apack i32)
    (local $bias0 v128) (local $bias1 v128)
    (if (local.get $transA)
      (then (local.set $ai (i32.const 4)) (local.set $ak (i32.shl (local.get $m) (i32.const 2))))
      (else (local.set $ai (i32.shl (local.get $k) (i32.const 2))) (local.set $ak (i32.const 4))))
    (if (local.get $transB)
      (then (local.set $sk (i32.const 1)) (local.set $sj (local.get $k)))
      (else (local.set $sk (local.get $n)) (local.set $sj (i32.const 1))))
    (local.set $ldc (i32.shl (local.get $n) (i32.const 2)))
    (local.set $tmp (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 5))))
    (local.set $apack (i32.add (local.get $tmp) (i32.const 32)))
    (if (i32.and (local.get $transA) (i32.ge_u (local.get $m) (i32.const 4)))
      (then (call $packA (local.get $apack) (local.get $a) (local.get $m) (local.get $k))))
    (block $panels
      (loop $panel
        (br_if $panels (i32.ge_u (local.get $j0) (local.get $n)))
        (local.set $cols (i32.sub (local.get $n) (local.get $j0)))
        (if (i32.gt_u (local.get $cols) (i32.const 8)) (then (local.set $cols (i32.const 8))))
        (call $pack (local.get $scratch) (local.get $b) (local.get $sk) (local.get $sj) (local.get $j0) (local.get $cols) (local.get $k))
        ;; The panel's bias, zero-padded to 8 columns (through $tmp).
        (v128.store (local.get $tmp) (v128.const i32x4 0 0 0 0))
        (v128.store offset=16 (local.get $tmp) (v128.const i32x4 0 0 0 0))
        (if (local.get $bias)
          (then
            (local.set $jj (i32.const 0))
            (block $bdone
              (loop $bcol
                (br_if $bdone (i32.ge_u (local.get $jj) (local.get $cols)))
                (f32.store (i32.add (local.get $tmp) (i32.shl (local.get $jj) (i32.const 2)))
                  (f32.load (i32.add (local.get $bias) (i32.shl (i32.add (local.get $j0) (local.get $jj)) (i32.const 2)))))
                (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
                (br $bcol)))))
        (local.set $bias0 (v128.load (local.get $tmp)))
        (local.set $bias1 (v128.load offset=16 (local.get $tmp)))
        (local.set $i (i32.const 0))
        (local.set $pc (i32.add (local.get $c) (i32.shl (local.get $j0) (i32.const 2))))
        ;; Every block of 4 rows in one call (the tile functions loop over them).
        (if (i32.ge_u (local.get $m) (i32.const 4))
          (then
            (if (local.get $transA)
              (then
                (call $tile4t (local.get $apack)
                  (local.get $scratch) (local.get $k) (local.get $bias0) (local.get $bias1)
                  (local.get $pc) (local.get $ldc) (local.get $cols) (local.get $relu) (local.get $tmp) (i32.shr_u (local.get $m) (i32.const 2))
                  (i32.shl (local.get $k) (i32.const 4))))
              (else
                (call $tile4n (local.get $a) (local.get $ai)
                  (local.get $scratch) (local.get $k) (local.get $bias0) (local.get $bias1)
                  (local.get $pc) (local.get $ldc) (local.get $cols) (local.get $relu) (local.get $tmp) (i32.shr_u (local.get $m) (i32.const 2)))))
            (local.set $i (i32.and (local.get $m) (i32.const -4)))
            (local.set $pc (i32.add (local.get $pc) (i32.mul (local.get $i) (local.get $ldc))))))
        (block $singles
          (loop $single
            (br_if $singles (i32.ge_u (local.get $i) (local.get $m)))
            (call $tile1 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $ai))) (local.get $ak)
              (local.get $scratch) (local.get $k) (local.get $bias0) (local.get $bias1)
              (local.get $pc) (local.get $cols) (local.get $relu) (local.get $tmp))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (br $single)))
        (local.set $j0 (i32.add (local.get $j0) (i32.const 8)))
        (br $panel))))
)
