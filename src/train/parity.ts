/**
 * How far two checkpoints' parameters are apart: the distributed-parity check of issue 16 (an
 * N-rank job against the single process reading the same global batches) and its benchmark.
 *
 * Per tensor (dense parameters `param/*` and embedding tables `table/*`; optimiser state is left
 * out, it is a function of the parameters' history), two relative errors:
 * - `relL2` = ‖a − b‖₂ / ‖a‖₂, the usual relative error of a tensor;
 * - `relInf` = ‖a − b‖∞ / ‖a‖∞, the worst single element against the tensor's scale.
 * The maximum of each over tensors is reported, with the tensor that reached it. Float
 * reassociation (a sum over B rows computed as two sums over B/2) moves both by ~1e-7 a step;
 * how much that grows depends on the optimiser (BENCHMARKS.md, "Training past one machine").
 */
import { readSafetensors } from '../engine/safetensors.js';

export interface ParamDiff {
  maxRelL2: number;
  maxRelL2Tensor: string;
  maxRelInf: number;
  maxRelInfTensor: string;
  tensors: number;
}

export function checkpointParamDiff(pathA: string, pathB: string): ParamDiff {
  const a = readSafetensors(pathA);
  const b = readSafetensors(pathB);
  const out: ParamDiff = { maxRelL2: 0, maxRelL2Tensor: '', maxRelInf: 0, maxRelInfTensor: '', tensors: 0 };
  for (const [name, t] of Object.entries(a.tensors)) {
    if (!name.startsWith('param/') && !name.startsWith('table/')) continue;
    const u = b.tensors[name];
    if (u === undefined) throw new Error(`${pathB}: no tensor '${name}' (it is in ${pathA})`);
    if (
      t.data.length !== u.data.length ||
      !(t.data instanceof Float32Array) ||
      !(u.data instanceof Float32Array)
    )
      throw new Error(`${name}: shape or dtype differs between ${pathA} and ${pathB}`);
    let d2 = 0;
    let a2 = 0;
    let dInf = 0;
    let aInf = 0;
    for (let i = 0; i < t.data.length; i++) {
      const x = t.data[i]!;
      const e = x - u.data[i]!;
      d2 += e * e;
      a2 += x * x;
      dInf = Math.max(dInf, Math.abs(e));
      aInf = Math.max(aInf, Math.abs(x));
    }
    const l2 = a2 > 0 ? Math.sqrt(d2 / a2) : Math.sqrt(d2);
    const inf = aInf > 0 ? dInf / aInf : dInf;
    if (l2 > out.maxRelL2 || out.maxRelL2Tensor === '') {
      out.maxRelL2 = l2;
      out.maxRelL2Tensor = name;
    }
    if (inf > out.maxRelInf || out.maxRelInfTensor === '') {
      out.maxRelInf = inf;
      out.maxRelInfTensor = name;
    }
    out.tensors++;
  }
  if (out.tensors === 0) throw new Error(`${pathA}: no parameter tensors to compare`);
  return out;
}
