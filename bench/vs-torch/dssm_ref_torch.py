#!/usr/bin/env python3
"""PyTorch twin of kdrec's `dssm-ref` benchmark model (issue 2; src/models/dssmRef.ts), for
`npm run bench:vs-torch` (bench/vs-torch/run.mjs). Prints one JSON line.

Same model and protocol as `kdrec bench train --model dssm-ref`:
  user side: user_id (100,000) + 3 fields (100 each); item side: item_id (200,000), category (1,000),
  brand (10,000); embedding dim 32, N(0, 0.05) init; each tower Linear 256-128-64 with ReLU between
  layers; score = row-wise dot product; BCE with logits against uniform random labels (10% positives);
  embeddings with sparse=True gradients and SparseAdam (lazy Adam), dense layers with Adam, lr 1e-3;
  uniform random ids; batches generated before timing (a pool reused round-robin); warm-up steps
  are not timed. One thread (torch.set_num_threads(1)) unless --threads.

`--ddp N` (train mode) is the peer reference for kdrec's `--threads N`: PyTorch's own data-parallel
training, DistributedDataParallel over N processes (gloo backend, one thread each, sparse embedding
gradients all-reduced), each process taking batch/N rows of every step. samplesPerSec counts the
global batch (rank 0's wall clock).

Modes:
  train  (default)  samples/s of training steps
  user-tower        users/s of the user tower forward over --users users (inference, no grad)
  score             ms to score one user vector against --items item vectors and take the top 100

Run with Debian's interpreter, which has python3-torch: /usr/bin/python3 dssm_ref_torch.py --json
"""
import argparse
import json
import os
import platform
import time

import torch
from torch import nn

USER_VOCABS = [100_000, 100, 100, 100]
ITEM_VOCABS = [200_000, 1_000, 10_000]
DIM = 32
TOWER = [256, 128, 64]


def tower(in_dim):
    layers = []
    dims = [in_dim] + TOWER
    for i in range(len(TOWER)):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i + 1 < len(TOWER):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DssmRef(nn.Module):
    def __init__(self):
        super().__init__()
        self.user_emb = nn.ModuleList(nn.Embedding(v, DIM, sparse=True) for v in USER_VOCABS)
        self.item_emb = nn.ModuleList(nn.Embedding(v, DIM, sparse=True) for v in ITEM_VOCABS)
        for e in [*self.user_emb, *self.item_emb]:
            nn.init.normal_(e.weight, std=0.05)
        self.user_tower = tower(DIM * len(USER_VOCABS))
        self.item_tower = tower(DIM * len(ITEM_VOCABS))

    def user(self, ids):
        return self.user_tower(torch.cat([e(ids[:, i]) for i, e in enumerate(self.user_emb)], 1))

    def item(self, ids):
        return self.item_tower(torch.cat([e(ids[:, i]) for i, e in enumerate(self.item_emb)], 1))

    def forward(self, uids, iids):
        return (self.user(uids) * self.item(iids)).sum(1)


def random_ids(vocabs, rows, gen):
    return torch.stack([torch.randint(0, v, (rows,), generator=gen) for v in vocabs], 1)


def bench_train(model, args, gen, shard=(0, 1)):
    rank, world = shard
    batches = []
    for _ in range(args.pool):
        uids = random_ids(USER_VOCABS, args.batch, gen)
        iids = random_ids(ITEM_VOCABS, args.batch, gen)
        labels = (torch.rand(args.batch, generator=gen) < 0.1).float()
        # Every rank draws the same global batches and keeps its contiguous slice of rows.
        lo, hi = rank * args.batch // world, (rank + 1) * args.batch // world
        batches.append((uids[lo:hi], iids[lo:hi], labels[lo:hi]))
    sparse = [p for n, p in model.named_parameters() if '_emb' in n]
    dense = [p for n, p in model.named_parameters() if '_emb' not in n]
    opts = [torch.optim.SparseAdam(sparse, lr=1e-3), torch.optim.Adam(dense, lr=1e-3)]
    loss_fn = nn.BCEWithLogitsLoss()

    def step(s):
        uids, iids, labels = batches[s % len(batches)]
        for o in opts:
            o.zero_grad(set_to_none=True)
        loss = loss_fn(model(uids, iids), labels)
        loss.backward()
        for o in opts:
            o.step()
        return loss.item()

    for s in range(args.warmup):
        step(s)
    t0 = time.perf_counter()
    c0 = time.process_time()
    loss = 0.0
    for s in range(args.steps):
        loss = step(args.warmup + s)
    sec = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return {
        'samplesPerSec': round(args.steps * args.batch / sec),
        # CPU-time rate: on a shared machine wall time also counts other processes' time slices.
        'cpuSamplesPerSec': round(args.steps * args.batch / cpu),
        'msPerStep': round(1000 * sec / args.steps, 2),
        'batch': args.batch,
        'steps': args.steps,
        'finalLoss': round(loss, 5),
    }


def median_time(fn, reps, clock=time.perf_counter):
    fn()
    ts = []
    for _ in range(reps):
        t0 = clock()
        fn()
        ts.append(clock() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def ddp_worker(rank, args, port, queue):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=args.ddp)
    torch.manual_seed(args.seed)
    model = DistributedDataParallel(DssmRef())
    result = bench_train(model, args, torch.Generator().manual_seed(args.seed), (rank, args.ddp))
    if rank == 0:
        queue.put(result)
    dist.destroy_process_group()


def bench_ddp(args):
    import socket
    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    ctx = mp.get_context('spawn')
    queue = ctx.SimpleQueue()
    mp.spawn(ddp_worker, args=(args, port, queue), nprocs=args.ddp, join=True)
    result = queue.get()
    result['ddpProcesses'] = args.ddp
    return result


def bench_user_tower(model, args, gen):
    uids = random_ids(USER_VOCABS, args.users, gen)
    with torch.inference_mode():
        sec = median_time(lambda: model.user(uids), args.reps)
        cpu = median_time(lambda: model.user(uids), args.reps, time.process_time)
    return {'usersPerSec': round(args.users / sec), 'cpuUsersPerSec': round(args.users / cpu),
            'ms': round(1000 * sec, 3), 'cpuMs': round(1000 * cpu, 3), 'users': args.users}


def bench_score(model, args, gen):
    with torch.inference_mode():
        items = torch.randn(args.items, TOWER[-1], generator=gen)
        u = model.user(random_ids(USER_VOCABS, 1, gen))[0]
        sec = median_time(lambda: torch.topk(items @ u, 100), args.reps)
        cpu = median_time(lambda: torch.topk(items @ u, 100), args.reps, time.process_time)
    return {'ms': round(1000 * sec, 3), 'cpuMs': round(1000 * cpu, 3), 'items': args.items, 'k': 100}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--mode', choices=['train', 'user-tower', 'score'], default='train')
    ap.add_argument('--batch', type=int, default=1024)
    ap.add_argument('--steps', type=int, default=30)
    ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--pool', type=int, default=8)
    ap.add_argument('--users', type=int, default=4096)
    ap.add_argument('--items', type=int, default=200_000)
    ap.add_argument('--reps', type=int, default=20)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--ddp', type=int, default=1, help='train mode: DistributedDataParallel over N processes')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--json', action='store_true')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    model = DssmRef()
    if args.mode == 'train' and args.ddp > 1:
        result = bench_ddp(args)
    elif args.mode == 'train':
        result = bench_train(model, args, gen)
    elif args.mode == 'user-tower':
        result = bench_user_tower(model, args, gen)
    else:
        result = bench_score(model, args, gen)
    result.update({
        'peer': 'pytorch',
        'mode': args.mode,
        'threads': torch.get_num_threads(),
        'torch': torch.__version__,
        'python': platform.python_version(),
        'openblasCoretype': os.environ.get('OPENBLAS_CORETYPE', ''),
    })
    print(json.dumps(result) if args.json else result)


if __name__ == '__main__':
    main()
