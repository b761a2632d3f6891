/**
 * The plain TypeScript kernel provider: always available, the reference every faster provider is
 * tested against (see types.ts for the exact semantics of each kernel).
 *
 * sgemm is written in the "dot-product" form C[i,j] = Σ_k A[i,k]·B[j,k] with both operands laid
 * out so that k is the contiguous axis: op(A) as M×K rows and op(B) as N×K rows (Bᵀ). Whichever
 * operand is not already in that layout is transposed once into a module-level scratch buffer
 * (O(MK + KN) work against O(MNK) for the product), so every transpose case runs the same
 * contiguous inner loop. The inner loop computes a 4×4 block of C with 16 accumulators held in
 * registers (8 loads per 16 multiply-adds), accumulating in float64 (JS numbers) and rounding to
 * float32 once on the store. Scratch buffers only grow, so steady-state calls allocate nothing.
 */
import type { Kernels } from './types.js';
export declare const jsKernels: Kernels;
