;; kdrec WebAssembly SIMD kernels: single-precision GEMM (BLAS sgemm semantics, row-major).
;;
;;   C = alpha · op(A) · op(B) + beta · C,   op(A) is M×K, op(B) is K×N, C is M×N.
;;
;; Structure follows the GotoBLAS/BLIS decomposition (Goto & van de Geijn, "Anatomy of
;; High-Performance Matrix Multiplication", ACM TOMS 34(3), 2008; Van Zee & van de Geijn, "BLIS",
;; ACM TOMS 41(3), 2015): the K dimension is cut into blocks of KC, and per block all of op(A) is
;; packed into slivers of MR=4 rows and all of op(B) into panels of NR=8 columns. The columns are
;; then swept in chunks of NC=64: a KC×NC chunk of packed B (32 KiB) stays in L1 while every A
;; sliver (2 KiB) passes over it, and a register-blocked MR×NR = 4×8 micro-kernel accumulates each
;; tile in 8 f32x4 registers. (Without the NC chunking, B panels of the 256-wide layers are re-read
;; from L2 for every sliver, which measured at half the speed.)
;; Packing is where the transpose cases are absorbed, so one micro-kernel serves A·B, Aᵀ·B, A·Bᵀ
;; and Aᵀ·Bᵀ. 4×8 keeps 8 accumulators + 2 B vectors + 1 broadcast A = 11 live v128 values, inside
;; the 16 XMM registers V8 allocates on x86-64, so the inner loop does not spill. WebAssembly SIMD
;; (without the relaxed-SIMD proposal) has no fused multiply-add, hence separate mul and add.
;;
;; All pointers are byte offsets into the exported memory; the TypeScript side (../wasm.ts) copies
;; operands in, grows the memory when a larger problem arrives, and copies C out.
(module
  (memory (export "memory") 1)

  ;; K-block size and column-chunk width (see the header): KC·NC·4 bytes = 32 KiB of packed B.
  (global $KC i32 (i32.const 128))
  (global $NC i32 (i32.const 64))

  ;; C[0..n) *= beta; beta = 0 writes zeros so that NaN in C's previous contents is ignored.
  (func $scaleC (param $pC i32) (param $n i32) (param $beta f32)
    (local $p i32) (local $end i32) (local $vb v128)
    (if (f32.eq (local.get $beta) (f32.const 1)) (then (return)))
    (if (f32.eq (local.get $beta) (f32.const 0))
      (then (memory.fill (local.get $pC) (i32.const 0) (i32.shl (local.get $n) (i32.const 2))) (return)))
    (local.set $vb (f32x4.splat (local.get $beta)))
    (local.set $p (local.get $pC))
    (local.set $end (i32.add (local.get $pC) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $p) (local.get $end)))
        (v128.store (local.get $p) (f32x4.mul (v128.load (local.get $p)) (local.get $vb)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $l4)))
    (local.set $end (i32.add (local.get $pC) (i32.shl (local.get $n) (i32.const 2))))
    (block $done1
      (loop $l1
        (br_if $done1 (i32.ge_u (local.get $p) (local.get $end)))
        (f32.store (local.get $p) (f32.mul (f32.load (local.get $p)) (local.get $beta)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $l1))))

  ;; Packs op(B)[k0 .. k0+kc, 0 .. N) into panels of 8 columns: panel p holds kc rows of 8 floats
  ;; (columns past N are zero). op(B)(k, j) = transB ? B[j*K + k] : B[k*N + j].
  (func $packB (param $transB i32) (param $pB i32) (param $N i32) (param $K i32)
               (param $k0 i32) (param $kc i32) (param $dst i32)
    (local $j0 i32) (local $k i32) (local $jj i32) (local $j i32) (local $src i32) (local $v f32)
    (local.set $j0 (i32.const 0))
    (block $panelsDone
      (loop $panels
        (br_if $panelsDone (i32.ge_s (local.get $j0) (local.get $N)))
        (if (i32.and (i32.eqz (local.get $transB)) (i32.le_s (i32.add (local.get $j0) (i32.const 8)) (local.get $N)))
          (then
            ;; Contiguous rows of B: two vector copies per k.
            (local.set $src (i32.add (local.get $pB)
              (i32.shl (i32.add (i32.mul (local.get $k0) (local.get $N)) (local.get $j0)) (i32.const 2))))
            (local.set $k (i32.const 0))
            (block $kd (loop $kl
              (br_if $kd (i32.ge_s (local.get $k) (local.get $kc)))
              (v128.store (local.get $dst) (v128.load (local.get $src)))
              (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $src)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
              (local.set $src (i32.add (local.get $src) (i32.shl (local.get $N) (i32.const 2))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $kl))))
          (else
            ;; Transposed B or a ragged last panel: element by element, zero-padded.
            (local.set $k (i32.const 0))
            (block $kd2 (loop $kl2
              (br_if $kd2 (i32.ge_s (local.get $k) (local.get $kc)))
              (local.set $jj (i32.const 0))
              (block $jd (loop $jl
                (br_if $jd (i32.ge_s (local.get $jj) (i32.const 8)))
                (local.set $j (i32.add (local.get $j0) (local.get $jj)))
                (local.set $v (f32.const 0))
                (if (i32.lt_s (local.get $j) (local.get $N))
                  (then
                    (local.set $v (f32.load (i32.add (local.get $pB) (i32.shl
                      (if (result i32) (local.get $transB)
                        (then (i32.add (i32.mul (local.get $j) (local.get $K)) (i32.add (local.get $k0) (local.get $k))))
                        (else (i32.add (i32.mul (i32.add (local.get $k0) (local.get $k)) (local.get $N)) (local.get $j))))
                      (i32.const 2)))))))
                (f32.store (local.get $dst) (local.get $v))
                (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
                (br $jl)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $kl2)))))
        (local.set $j0 (i32.add (local.get $j0) (i32.const 8)))
        (br $panels))))

  ;; Packs op(A)[i0 .. i0+mr, k0 .. k0+kc) as kc groups of 4 floats (rows past mr are zero).
  ;; op(A)(i, k) = transA ? A[k*M + i] : A[i*K + k].
  (func $packA (param $transA i32) (param $pA i32) (param $M i32) (param $K i32)
               (param $i0 i32) (param $mr i32) (param $k0 i32) (param $kc i32) (param $dst i32)
    (local $k i32) (local $ii i32) (local $src i32) (local $v f32) (local $i i32) (local $kk i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $rowBytes i32)
    (if (i32.and (local.get $transA) (i32.eq (local.get $mr) (i32.const 4)))
      (then
        ;; Aᵀ stored K×M: the 4 values of one k are contiguous.
        (local.set $src (i32.add (local.get $pA)
          (i32.shl (i32.add (i32.mul (local.get $k0) (local.get $M)) (local.get $i0)) (i32.const 2))))
        (local.set $k (i32.const 0))
        (block $kd (loop $kl
          (br_if $kd (i32.ge_s (local.get $k) (local.get $kc)))
          (v128.store (local.get $dst) (v128.load (local.get $src)))
          (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
          (local.set $src (i32.add (local.get $src) (i32.shl (local.get $M) (i32.const 2))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $kl)))
        (return)))
    (if (i32.and (i32.eqz (local.get $transA)) (i32.eq (local.get $mr) (i32.const 4)))
      (then
        ;; A stored M×K: walk four row pointers in step.
        (local.set $rowBytes (i32.shl (local.get $K) (i32.const 2)))
        (local.set $r0 (i32.add (local.get $pA)
          (i32.shl (i32.add (i32.mul (local.get $i0) (local.get $K)) (local.get $k0)) (i32.const 2))))
        (local.set $r1 (i32.add (local.get $r0) (local.get $rowBytes)))
        (local.set $r2 (i32.add (local.get $r1) (local.get $rowBytes)))
        (local.set $r3 (i32.add (local.get $r2) (local.get $rowBytes)))
        (local.set $k (i32.const 0))
        (block $kd3 (loop $kl3
          (br_if $kd3 (i32.ge_s (local.get $k) (local.get $kc)))
          (local.set $kk (i32.shl (local.get $k) (i32.const 2)))
          (f32.store (local.get $dst) (f32.load (i32.add (local.get $r0) (local.get $kk))))
          (f32.store offset=4 (local.get $dst) (f32.load (i32.add (local.get $r1) (local.get $kk))))
          (f32.store offset=8 (local.get $dst) (f32.load (i32.add (local.get $r2) (local.get $kk))))
          (f32.store offset=12 (local.get $dst) (f32.load (i32.add (local.get $r3) (local.get $kk))))
          (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $kl3)))
        (return)))
    ;; Ragged last row block (mr < 4): element by element, zero-padded.
    (local.set $k (i32.const 0))
    (block $kd2 (loop $kl2
      (br_if $kd2 (i32.ge_s (local.get $k) (local.get $kc)))
      (local.set $ii (i32.const 0))
      (block $id (loop $il
        (br_if $id (i32.ge_s (local.get $ii) (i32.const 4)))
        (local.set $i (i32.add (local.get $i0) (local.get $ii)))
        (local.set $v (f32.const 0))
        (if (i32.lt_s (local.get $ii) (local.get $mr))
          (then
            (local.set $v (f32.load (i32.add (local.get $pA) (i32.shl
              (if (result i32) (local.get $transA)
                (then (i32.add (i32.mul (i32.add (local.get $k0) (local.get $k)) (local.get $M)) (local.get $i)))
                (else (i32.add (i32.mul (local.get $i) (local.get $K)) (i32.add (local.get $k0) (local.get $k)))))
              (i32.const 2)))))))
        (f32.store (local.get $dst) (local.get $v))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $ii (i32.add (local.get $ii) (i32.const 1)))
        (br $il)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $kl2))))

  ;; The 4×8 micro-kernel: tile(C) += alpha · Apanel(kc×4)ᵀ · Bpanel(kc×8).
  ;; ldc is C's row stride in bytes; mr ≤ 4, nr ≤ 8 are the valid rows/columns of this tile.
  (func $micro (param $pa i32) (param $pb i32) (param $kc i32) (param $pc i32) (param $ldc i32)
               (param $mr i32) (param $nr i32) (param $alpha f32) (param $scratch i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $a v128) (local $va v128)
    (local $pbEnd i32) (local $r i32) (local $j i32) (local $row i32)
    (local.set $pbEnd (i32.add (local.get $pb) (i32.shl (local.get $kc) (i32.const 5))))
    (loop $kl
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (local.set $a (v128.load32_splat (local.get $pa)))
      (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
      (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $a (v128.load32_splat offset=8 (local.get $pa)))
      (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $a (v128.load32_splat offset=12 (local.get $pa)))
      (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
      (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
      (br_if $kl (i32.lt_u (local.get $pb) (local.get $pbEnd))))
    (local.set $va (f32x4.splat (local.get $alpha)))
    (if (i32.and (i32.eq (local.get $mr) (i32.const 4)) (i32.eq (local.get $nr) (i32.const 8)))
      (then
        (local.set $row (local.get $pc))
        (v128.store (local.get $row) (f32x4.add (v128.load (local.get $row)) (f32x4.mul (local.get $va) (local.get $c00))))
        (v128.store offset=16 (local.get $row) (f32x4.add (v128.load offset=16 (local.get $row)) (f32x4.mul (local.get $va) (local.get $c01))))
        (local.set $row (i32.add (local.get $row) (local.get $ldc)))
        (v128.store (local.get $row) (f32x4.add (v128.load (local.get $row)) (f32x4.mul (local.get $va) (local.get $c10))))
        (v128.store offset=16 (local.get $row) (f32x4.add (v128.load offset=16 (local.get $row)) (f32x4.mul (local.get $va) (local.get $c11))))
        (local.set $row (i32.add (local.get $row) (local.get $ldc)))
        (v128.store (local.get $row) (f32x4.add (v128.load (local.get $row)) (f32x4.mul (local.get $va) (local.get $c20))))
        (v128.store offset=16 (local.get $row) (f32x4.add (v128.load offset=16 (local.get $row)) (f32x4.mul (local.get $va) (local.get $c21))))
        (local.set $row (i32.add (local.get $row) (local.get $ldc)))
        (v128.store (local.get $row) (f32x4.add (v128.load (local.get $row)) (f32x4.mul (local.get $va) (local.get $c30))))
        (v128.store offset=16 (local.get $row) (f32x4.add (v128.load offset=16 (local.get $row)) (f32x4.mul (local.get $va) (local.get $c31))))
        (return)))
    ;; Edge tile: spill the scaled tile to scratch, then add only the valid mr×nr part into C.
    (v128.store offset=0 (local.get $scratch) (f32x4.mul (local.get $va) (local.get $c00)))
    (v128.store offset=16 (local.get $scratch) (f32x4.mul (local.get $va) (local.get $c01)))
    (v128.store offset=32 (local.get $scratch) (f32x4.mul (local.get $va) (local.get $c10)))
    (v128.store offset=48 (local.get $scratch) (f32x4.mul (local.get $va) (local.get $c11)))
    (v128.store offset=64 (local.get $scratch) (f32x4.mul (local.get $va) (local.get $c20)))
    (v128.store offset=80 (local.get $scratch) (f32x4.mul (local.get $va) (local.get $c21)))
    (v128.store offset=96 (local.get $scratch) (f32x4.mul (local.get $va) (local.get $c30)))
    (v128.store offset=112 (local.get $scratch) (f32x4.mul (local.get $va) (local.get $c31)))
    (local.set $r (i32.const 0))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_s (local.get $r) (local.get $mr)))
      (local.set $row (i32.add (local.get $pc) (i32.mul (local.get $r) (local.get $ldc))))
      (local.set $j (i32.const 0))
      (block $jd (loop $jl
        (br_if $jd (i32.ge_s (local.get $j) (local.get $nr)))
        (f32.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))
          (f32.add
            (f32.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))
            (f32.load (i32.add (local.get $scratch)
              (i32.shl (i32.add (i32.shl (local.get $r) (i32.const 3)) (local.get $j)) (i32.const 2))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jl)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))

  ;; Bytes of packed A for M rows: KC·ceil(M/4)·4 floats.
  (func $packABytes (param $M i32) (result i32)
    (i32.shl (i32.mul (global.get $KC) (i32.and (i32.add (local.get $M) (i32.const 3)) (i32.const -4))) (i32.const 2)))

  ;; Bytes of packed B for N columns: KC·ceil(N/8)·8 floats.
  (func $packBBytes (param $N i32) (result i32)
    (i32.shl (i32.mul (global.get $KC) (i32.and (i32.add (local.get $N) (i32.const 7)) (i32.const -8))) (i32.const 2)))

  ;; Workspace the caller must reserve after its operands (16-byte aligned): packed A, packed B
  ;; and a 32-float scratch tile, in bytes.
  (func (export "workspaceBytes") (param $M i32) (param $N i32) (result i32)
    (i32.add (i32.add (call $packABytes (local.get $M)) (call $packBBytes (local.get $N))) (i32.const 128)))

  (func (export "sgemm")
    (param $transA i32) (param $transB i32) (param $M i32) (param $N i32) (param $K i32)
    (param $alpha f32) (param $pA i32) (param $pB i32) (param $beta f32) (param $pC i32)
    (param $pWork i32)
    (local $k0 i32) (local $kc i32) (local $i0 i32) (local $mr i32) (local $j0 i32) (local $nr i32)
    (local $jc i32) (local $jcEnd i32) (local $sliver i32) (local $sliverBytes i32) (local $panelBytes i32)
    (local $pPackA i32) (local $pPackB i32) (local $pScratch i32) (local $ldc i32) (local $panel i32)
    (call $scaleC (local.get $pC) (i32.mul (local.get $M) (local.get $N)) (local.get $beta))
    (if (i32.or (i32.or (i32.eqz (local.get $M)) (i32.eqz (local.get $N))) (i32.eqz (local.get $K)))
      (then (return)))
    (if (f32.eq (local.get $alpha) (f32.const 0)) (then (return)))
    (local.set $pPackA (local.get $pWork))
    (local.set $pPackB (i32.add (local.get $pPackA) (call $packABytes (local.get $M))))
    (local.set $pScratch (i32.add (local.get $pPackB) (call $packBBytes (local.get $N))))
    (local.set $ldc (i32.shl (local.get $N) (i32.const 2)))
    (local.set $k0 (i32.const 0))
    (block $kDone (loop $kLoop
      (br_if $kDone (i32.ge_s (local.get $k0) (local.get $K)))
      (local.set $kc (i32.sub (local.get $K) (local.get $k0)))
      (if (i32.gt_s (local.get $kc) (global.get $KC)) (then (local.set $kc (global.get $KC))))
      (local.set $sliverBytes (i32.shl (local.get $kc) (i32.const 4)))
      (local.set $panelBytes (i32.shl (local.get $kc) (i32.const 5)))
      ;; Pack this K-block of op(B) (all panels) and of op(A) (all slivers).
      (call $packB (local.get $transB) (local.get $pB) (local.get $N) (local.get $K)
                   (local.get $k0) (local.get $kc) (local.get $pPackB))
      (local.set $i0 (i32.const 0))
      (local.set $sliver (local.get $pPackA))
      (block $paDone (loop $paLoop
        (br_if $paDone (i32.ge_s (local.get $i0) (local.get $M)))
        (local.set $mr (i32.sub (local.get $M) (local.get $i0)))
        (if (i32.gt_s (local.get $mr) (i32.const 4)) (then (local.set $mr (i32.const 4))))
        (call $packA (local.get $transA) (local.get $pA) (local.get $M) (local.get $K)
                     (local.get $i0) (local.get $mr) (local.get $k0) (local.get $kc) (local.get $sliver))
        (local.set $sliver (i32.add (local.get $sliver) (local.get $sliverBytes)))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 4)))
        (br $paLoop)))
      ;; Sweep column chunks of NC; within a chunk, every A sliver over the chunk's B panels.
      (local.set $jc (i32.const 0))
      (block $jcDone (loop $jcLoop
        (br_if $jcDone (i32.ge_s (local.get $jc) (local.get $N)))
        (local.set $jcEnd (i32.add (local.get $jc) (global.get $NC)))
        (if (i32.gt_s (local.get $jcEnd) (local.get $N)) (then (local.set $jcEnd (local.get $N))))
        (local.set $i0 (i32.const 0))
        (local.set $sliver (local.get $pPackA))
        (block $iDone (loop $iLoop
          (br_if $iDone (i32.ge_s (local.get $i0) (local.get $M)))
          (local.set $mr (i32.sub (local.get $M) (local.get $i0)))
          (if (i32.gt_s (local.get $mr) (i32.const 4)) (then (local.set $mr (i32.const 4))))
          (local.set $j0 (local.get $jc))
          (local.set $panel (i32.add (local.get $pPackB) (i32.mul (i32.shr_u (local.get $jc) (i32.const 3)) (local.get $panelBytes))))
          (block $jDone (loop $jLoop
            (br_if $jDone (i32.ge_s (local.get $j0) (local.get $jcEnd)))
            (local.set $nr (i32.sub (local.get $N) (local.get $j0)))
            (if (i32.gt_s (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
            (call $micro (local.get $sliver) (local.get $panel) (local.get $kc)
                         (i32.add (local.get $pC) (i32.shl (i32.add (i32.mul (local.get $i0) (local.get $N)) (local.get $j0)) (i32.const 2)))
                         (local.get $ldc) (local.get $mr) (local.get $nr) (local.get $alpha) (local.get $pScratch))
            (local.set $panel (i32.add (local.get $panel) (local.get $panelBytes)))
            (local.set $j0 (i32.add (local.get $j0) (i32.const 8)))
            (br $jLoop)))
          (local.set $sliver (i32.add (local.get $sliver) (local.get $sliverBytes)))
          (local.set $i0 (i32.add (local.get $i0) (i32.const 4)))
          (br $iLoop)))
        (local.set $jc (local.get $jcEnd))
        (br $jcLoop)))
      (local.set $k0 (i32.add (local.get $k0) (global.get $KC)))
      (br $kLoop))))
)
