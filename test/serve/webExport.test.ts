/**
 * `kdrec export --web`: the page's student (src/serve/webStudent.ts, the module the page loads)
 * against `kdrec serve` for the same clicks — user state field by field, and the top list (ids
 * and scores) after each click, for a known user (events via POST /events) and the cold-start
 * user (events carried by the request).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import * as exportCmd from '../../src/cli/commands/export.js';
import { buildService } from '../../src/serve/server.js';
import type { UserEvent } from '../../src/serve/userStateStore.js';
import { writeWebPage } from '../../src/serve/webExport.js';
import {
  ortTowerRunner,
  type WebItems,
  type WebManifest,
  WebStudent,
  type WebUser,
} from '../../src/serve/webStudent.js';
import { stateExport } from './webFixture.js';

/** The page directory's files, read as the page reads them. */
export function readPage(dir: string) {
  const data = (f: string) => join(dir, 'data', f);
  const manifest = JSON.parse(readFileSync(data('web.json'), 'utf8')) as WebManifest;
  const bin = (f: string) => {
    const b = readFileSync(data(f));
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  };
  return {
    manifest,
    items: JSON.parse(readFileSync(data(manifest.files.items), 'utf8')) as WebItems,
    users: JSON.parse(readFileSync(data(manifest.files.users), 'utf8')) as WebUser[],
    vectors: new Float32Array(bin(manifest.files.vectors)),
    itemState: new Int32Array(bin(manifest.files.itemState)),
    model: new Uint8Array(bin(manifest.files.model)),
  };
}

interface ServedList {
  items: { id: string; scores: { recall: number } }[];
}

test('the page student equals kdrec serve for the same clicks: user state and top list', async () => {
  const fx = await stateExport();
  const web = join(fx.root, 'web');
  const m = writeWebPage({ exportDir: fx.exportDir, out: web, users: 5 });
  assert.ok(m.userState !== null, 'the tower reads user state, so the page computes it');
  assert.equal(m.userState.layout.counts.length, 2);
  const page = readPage(web);
  const session = await ort.InferenceSession.create(page.model, { intraOpNumThreads: 1 });
  const student = new WebStudent(
    page.manifest,
    page.vectors,
    page.itemState,
    page.items,
    ortTowerRunner(ort, session, page.manifest.tower),
  );
  assert.equal(page.users.length, 6);
  assert.equal(page.users.at(-1)!.id, null, 'the last user is the cold-start one');
  assert.match(page.items.titles[0]!, /^item \S+ · category \S+/);

  const svc = await buildService({ exportRoot: fx.root, exportDir: 'export', index: 'exact' });
  const online = svc.state().userState!;
  const k = page.manifest.k;
  const t0 = 1_800_000_000;
  for (const user of [page.users[0]!, page.users.at(-1)!]) {
    const clicks: { itemRow: number; ts: number }[] = [];
    const events: UserEvent[] = [];
    let previous: string[] = [];
    let changed = 0;
    // Clicks on the list's 2nd item; two in one second (the second is invisible to a request in it).
    for (const [step, ts] of [t0, t0 + 30, t0 + 30, t0 + 4000, t0 + 9000].entries()) {
      const t = ts + 1;
      const recs = await student.recommend(user, clicks, t);
      const body = {
        ...(user.id !== null
          ? { user_id: user.id }
          : { events: events.map((e) => ({ item_id: e.itemId, ts: e.ts, labels: e.labels })) }),
        ts: t,
        n: k,
        m: k,
        k,
      };
      const res = await svc.app.inject({ method: 'POST', url: '/recommend', payload: body });
      assert.equal(res.statusCode, 200, res.body);
      const served = (res.json() as ServedList).items;
      const where = `${user.label}, step ${step}`;
      assert.deepEqual(
        recs.map((r) => r.id),
        served.map((s) => s.id),
        where,
      );
      recs.forEach((r, i) => {
        assert.ok(
          Math.abs(r.score - served[i]!.scores.recall) < 1e-5,
          `${where}: ${r.score} vs ${served[i]!.scores.recall}`,
        );
      });
      // The user state itself, field by field, against the server's encoder.
      const mine = student.userState(clicks, t)!;
      const theirs = online.features(events, t);
      assert.deepEqual(Object.keys(mine.seq).sort(), Object.keys(theirs.seq).sort());
      for (const f of Object.keys(theirs.seq))
        assert.deepEqual(mine.seq[f]!.ids, theirs.seq[f]!.ids, `${where} ${f}`);
      for (const f of Object.keys(theirs.num))
        assert.equal(mine.num[f]![0], theirs.num[f]![0], `${where} ${f}`);
      if (step > 0 && recs.map((r) => r.id).join() !== previous.join()) changed++;
      previous = recs.map((r) => r.id);

      const pick = recs[1]!;
      clicks.push({ itemRow: pick.row, ts });
      const e: UserEvent = { itemId: pick.id, ts, labels: { ...page.manifest.clickLabels } };
      events.push(e);
      if (user.id !== null) {
        const post = await svc.app.inject({
          method: 'POST',
          url: '/events',
          payload: { user_id: user.id, events: [{ item_id: e.itemId, ts: e.ts, labels: e.labels }] },
        });
        assert.equal(post.statusCode, 200, post.body);
      }
    }
    assert.ok(changed >= 2, `${user.label}: the list changed after ${changed} of 4 clicks (not vacuous)`);
  }
  await session.release();
  await svc.app.close();
});

test('the page student refuses files that disagree with web.json, naming the file', async () => {
  const fx = await stateExport({ items: 50, users: 10 });
  const web = join(fx.root, 'web');
  writeWebPage({ exportDir: fx.exportDir, out: web });
  const page = readPage(web);
  const run = async () => new Float32Array(page.manifest.dim);
  assert.throws(
    () => new WebStudent(page.manifest, page.vectors.subarray(1), page.itemState, page.items, run),
    /item_vectors\.f32: \d+ values, expected \d+/,
  );
  assert.throws(
    () => new WebStudent(page.manifest, page.vectors, page.itemState.subarray(3), page.items, run),
    /item_state\.i32: \d+ values, expected \d+/,
  );
});

test('kdrec export --web writes the page of an existing export; misuse is refused', async () => {
  const fx = await stateExport({ items: 40, users: 8 });
  const program = () => {
    const p = new Command();
    p.exitOverride();
    p.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    exportCmd.register(p);
    return p;
  };
  const web = join(fx.root, 'web-cli');
  await program().parseAsync([
    'node',
    'kdrec',
    'export',
    '--from',
    fx.exportDir,
    '--web',
    web,
    '--web-users',
    '3',
  ]);
  const page = readPage(web);
  assert.equal(page.users.length, 4, '3 known users and the cold-start one');
  assert.equal(page.manifest.itemCount, 40);
  assert.ok(
    existsSync(join(web, 'index.html')) && existsSync(join(web, 'ort', 'ort-wasm-simd-threaded.wasm')),
  );
  await assert.rejects(
    program().parseAsync(['node', 'kdrec', 'export', '--from', fx.exportDir]),
    /--triton and --from need --format onnx \(--from: or --web\)/,
  );
  await assert.rejects(
    program().parseAsync([
      'node',
      'kdrec',
      'export',
      '--from',
      fx.exportDir,
      '--web',
      web,
      '--rank-run',
      'x',
    ]),
    /--from converts an existing export: drop --prerank-run/,
  );
  await assert.rejects(
    program().parseAsync(['node', 'kdrec', 'export', '--from', fx.exportDir, '--web-k', '5']),
    /--web-users and --web-k need --web/,
  );
  await assert.rejects(
    program().parseAsync(['node', 'kdrec', 'export', '--from', join(fx.root, 'nope'), '--web', web]),
    /is not a kdrec export: manifest\.json is missing/,
  );
});
