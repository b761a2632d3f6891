/**
 * The trainer's side of rank distillation: holds the teacher-ranked lists (read from a file written
 * by `kdrec teacher rank`, or built on the fly from the live teacher in joint modes and rebuilt every
 * `lists.refreshEvery` steps, so the lists follow a teacher that is still learning and, with
 * retrieved candidates, the student's current mistakes), draws `listsPerBatch` lists per step, runs
 * the student on their rows and sums the configured terms (./rankTerms.ts).
 */
import type { ColumnarDataset } from '../data/batch.js';
import type { LoadedDataset } from '../data/dataset.js';
import type { Graph } from '../engine/graph.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import type { Model } from '../models/types.js';
import {
  buildRankLists,
  easyNegatives,
  listCount,
  listRows,
  type RankLists,
  sampleRequestRows,
} from './rankLists.js';
import { type RankDistillSpec, rankTermLoss, rankTermName } from './rankTerms.js';
import { type Reranker, rerankerFromSpec } from './rerank.js';

export class RankDistiller {
  private lists: RankLists | null = null;
  private rows: ColumnarDataset | null = null;
  private easyPerList = 0;
  private builtAt = -1;
  private readonly rerank: Reranker | null;

  constructor(
    readonly spec: RankDistillSpec,
    private readonly ds: LoadedDataset,
    /** The split whose rows are the requests (train). */
    private readonly split: ColumnarDataset,
    private readonly rng: Rng,
    /** The lists of `spec.lists.file`, read beforehand with `readRankLists` (file reading is async, training is not). */
    preloaded: RankLists | null = null,
  ) {
    this.rerank = spec.rerank !== undefined ? rerankerFromSpec(spec.rerank, ds) : null;
    if (spec.lists.file !== undefined) {
      if (preloaded === null) {
        throw new Error(
          `rankDistill.lists.file: ${spec.lists.file} must be read with readRankLists before training`,
        );
      }
      if (spec.rerank !== undefined) {
        throw new Error(
          'rankDistill.rerank: lists read from a file are used as written; re-rank them when writing (kdrec teacher rank --rerank)',
        );
      }
      this.setLists(preloaded);
    } else if (preloaded !== null) {
      throw new Error('rankDistill: lists were passed in but the spec names no lists.file');
    }
  }

  /** The lists in use (for inspection and tests). */
  current(): RankLists | null {
    return this.lists;
  }

  private setLists(lists: RankLists): void {
    this.lists = lists;
    this.easyPerList = this.spec.lists.easyNegatives;
    const easy =
      this.easyPerList > 0
        ? easyNegatives(this.ds, lists, this.easyPerList, this.rng.fork(`easy-${this.builtAt}`))
        : null;
    this.rows = listRows(this.ds, this.split, lists, easy, this.easyPerList);
  }

  /**
   * Builds or rebuilds the lists when due: at the first step, and every `refreshEvery` steps when
   * they come from a live teacher. `teacher` is that teacher (null when the lists come from a file).
   */
  prepare(step: number, teacher: Model | null, student: Model): void {
    const L = this.spec.lists;
    if (L.file !== undefined) return;
    const due = this.lists === null || (L.refreshEvery > 0 && step - this.builtAt >= L.refreshEvery);
    if (!due) return;
    if (teacher === null) {
      throw new Error(
        'rankDistill.lists: there is no live teacher to rank candidates with; use a joint mode, ' +
          'or set rankDistill.lists.file to lists written by `kdrec teacher rank`',
      );
    }
    this.builtAt = step;
    const rng = this.rng.fork(`lists-${step}`);
    const output = this.spec.teacherOutput ?? teacher.outputNames[0]!;
    this.setLists(
      buildRankLists(this.ds, {
        split: this.split,
        requestRows: sampleRequestRows(this.split, L.requests, rng.fork('requests')),
        candidates: { random: L.random, retrieved: L.retrieved, retrievalPool: L.retrievalPool },
        length: L.length,
        teacher: { model: teacher, output },
        student: L.retrieved > 0 ? { model: student, output: this.spec.pred } : null,
        rerank: this.rerank,
        rng: rng.fork('candidates'),
      }),
    );
  }

  /** The summed rank terms of one step over `listsPerBatch` lists drawn without replacement. */
  loss(g: Graph, student: Model, step: number): { total: Tensor; terms: { name: string; loss: Tensor }[] } {
    const lists = this.lists;
    const rows = this.rows;
    if (lists === null || rows === null) throw new Error('rankDistill: prepare() must run before loss()');
    const nLists = listCount(lists);
    const B = Math.min(this.spec.listsPerBatch, nLists);
    const N = lists.length;
    const E = this.easyPerList;
    const W = N + E;
    const rng = this.rng.fork(`step-${step}`);
    const pick = new Int32Array(B);
    const chosen = new Set<number>();
    for (let b = 0; b < B; b++) {
      let l = rng.int(nLists);
      while (chosen.has(l)) l = rng.int(nLists);
      chosen.add(l);
      pick[b] = l;
    }
    const sel = new Int32Array(B * W);
    const teacherScores = new Float32Array(B * N);
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < W; c++) sel[b * W + c] = pick[b]! * W + c;
      teacherScores.set(lists.teacherScores.subarray(pick[b]! * N, (pick[b]! + 1) * N), b * N);
    }
    const batch = rows.select(sel);
    const out = student.forward(g, batch.columns).logits[this.spec.pred];
    if (out === undefined) {
      throw new Error(
        `rankDistill.pred: the student has no output '${this.spec.pred}' (it has: ${student.outputNames.join(', ')})`,
      );
    }
    const scores = g.reshape(out, [B, W]);
    const terms: { name: string; loss: Tensor }[] = [];
    let total: Tensor | null = null;
    this.spec.terms.forEach((t, i) => {
      const l = rankTermLoss(
        g,
        t,
        i,
        { scores, lists: B, length: N, easy: E, teacherScores },
        step,
        rng.fork(`term-${i}`),
      );
      terms.push({ name: rankTermName(t, i), loss: l });
      total = total === null ? l : g.add(total, l);
    });
    return { total: total!, terms };
  }
}
