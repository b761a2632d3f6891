/**
 * `kdrec doctor`: reports the compute environment: which kernel provider is active and why, the
 * BLAS library and its thread count (native provider), each provider's availability, and the CPU's
 * SIMD features (issue 8).
 */
import type { Command } from 'commander';
export declare function register(program: Command): void;
