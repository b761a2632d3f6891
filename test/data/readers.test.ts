import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DuckDb } from '../../src/data/readers.js';
import { tempDir } from './fixtures.js';

const dir = tempDir('readers');
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const cols = { id: 'INTEGER', score: 'DOUBLE', name: 'VARCHAR' } as const;

test('reads CSV, TSV, JSON Lines and Parquet into typed columns chunk by chunk', async () => {
  const db = await DuckDb.open();
  try {
    const csv = write('a.csv', 'id,score,name,unused\n1,0.5,x,q\n2,1.5,y,q\n3,2.5,z,q\n');
    const tsv = write('a.tsv', 'id\tscore\tname\n1\t0.5\tx\n2\t1.5\ty\n3\t2.5\tz\n');
    const jsonl = write(
      'a.jsonl',
      '{"id":1,"score":0.5,"name":"x"}\n{"id":2,"score":1.5,"name":"y"}\n{"id":3,"score":2.5,"name":"z"}\n',
    );
    const pq = join(dir, 'a.parquet');
    await db.run(
      `COPY (SELECT * FROM (VALUES (1, 0.5, 'x'), (2, 1.5, 'y'), (3, 2.5, 'z')) t(id, score, name)) TO '${pq}' (FORMAT parquet)`,
    );
    for (const path of [csv, tsv, jsonl, pq]) {
      const rep = await db.readTable('t', { path, columns: { ...cols } });
      assert.equal(rep.rows, 3, path);
      const id = new Int32Array(3);
      const score = new Float32Array(3);
      const names: string[] = [];
      const n = await db.fetchColumns('SELECT id, score, name FROM t ORDER BY _line', [
        { kind: 'number', out: id },
        { kind: 'number', out: score },
        { kind: 'string', onString: (r, v) => (names[r] = v ?? '') },
      ]);
      assert.equal(n, 3);
      assert.deepEqual([...id], [1, 2, 3], path);
      assert.deepEqual([...score], [0.5, 1.5, 2.5], path);
      assert.deepEqual(names, ['x', 'y', 'z'], path);
    }
  } finally {
    db.close();
  }
});

test('a malformed CSV row is an error naming file, line, column and the expected type', async () => {
  const db = await DuckDb.open();
  try {
    const p = write('bad.csv', 'id,score,name\n1,0.5,x\n2,abc,y\n3,2.5,z\n');
    await assert.rejects(db.readTable('t', { path: p, columns: { ...cols } }), (e: Error) => {
      assert.match(e.message, /bad\.csv:3: line 3, column 'score'/);
      assert.match(e.message, /expected DOUBLE/);
      return true;
    });
  } finally {
    db.close();
  }
});

test('NaN and a missing numeric value are errors naming the field and line', async () => {
  const db = await DuckDb.open();
  try {
    const p = write('nan.csv', 'id,score,name\n1,0.5,x\n2,nan,y\n');
    await assert.rejects(
      db.readTable('t', { path: p, columns: { ...cols } }),
      /nan\.csv:3: line 3, column 'score': NaN is not a finite number/,
    );
    const q = write('empty.csv', 'id,score,name\n1,,x\n2,1,y\n');
    await assert.rejects(
      db.readTable('t', { path: q, columns: { ...cols } }),
      /empty\.csv:2: line 2, column 'score': missing value \(expected DOUBLE\)/,
    );
  } finally {
    db.close();
  }
});

test('a missing column names it and lists the columns present', async () => {
  const db = await DuckDb.open();
  try {
    const p = write('miss.csv', 'id,name\n1,x\n');
    await assert.rejects(
      db.readTable('t', { path: p, columns: { ...cols } }),
      /missing column 'score'; columns present: id, name/,
    );
    const j = write('miss.jsonl', '{"id":1,"name":"x"}\n');
    await assert.rejects(
      db.readTable('t', { path: j, columns: { ...cols } }),
      /missing column 'score'; columns present: id, name/,
    );
  } finally {
    db.close();
  }
});

test('skipBadRows drops and counts bad rows and keeps true line numbers for later rows', async () => {
  const db = await DuckDb.open();
  try {
    const p = write('skip.csv', 'id,score,name\n1,0.5,x\n2,abc,y\n3,1\n4,nan,w\n5,2.5,z\n');
    const rep = await db.readTable('t', { path: p, columns: { ...cols } }, { skipBadRows: true });
    assert.equal(rep.rows, 2);
    assert.equal(rep.skipped, 3);
    assert.deepEqual(
      rep.problems.map((x) => x.line),
      [3, 4, 5],
    );
    const lines = await db.rows('SELECT id, _line::INTEGER FROM t ORDER BY _line');
    assert.deepEqual(lines, [
      [1, 2],
      [5, 6],
    ]);
    const j = write(
      'skip.jsonl',
      '{"id":1,"score":0.5,"name":"x"}\n{"id":"two","score":1,"name":"y"}\n{"id":3,"score":1,"name":"z"}\n',
    );
    await assert.rejects(
      db.readTable('t', { path: j, columns: { ...cols } }),
      /skip\.jsonl:2: line 2, column 'id': value 'two' is not INTEGER/,
    );
    const rj = await db.readTable('t', { path: j, columns: { ...cols } }, { skipBadRows: true });
    assert.equal(rj.rows, 2);
    assert.equal(rj.skipped, 1);
  } finally {
    db.close();
  }
});

test('Parquet: a missing column or one of the wrong type names the file, the column and the expected type', async () => {
  const db = await DuckDb.open();
  try {
    const copy = async (name: string, select: string) => {
      const p = join(dir, name);
      await db.run(`COPY (${select}) TO '${p}' (FORMAT parquet)`);
      return p;
    };
    const missing = await copy('missing.parquet', "SELECT 1 AS id, 'x' AS name");
    await assert.rejects(
      db.readTable('t', { path: missing, columns: { ...cols } }),
      /missing\.parquet: missing column 'score'/,
    );
    const wrong = await copy('wrong.parquet', "SELECT 1 AS id, [0.5, 1.0]::DOUBLE[] AS score, 'x' AS name");
    await assert.rejects(
      db.readTable('t', { path: wrong, columns: { ...cols } }),
      /wrong\.parquet: column 'score' has type DOUBLE\[\], expected DOUBLE/,
    );
    const float = await copy('float.parquet', "SELECT 1.5::DOUBLE AS id, 0.5 AS score, 'x' AS name");
    await assert.rejects(
      db.readTable('t', { path: float, columns: { ...cols } }),
      /float\.parquet: column 'id' has type DOUBLE, expected INTEGER \(an integer type\)/,
    );
    // Numbers stored as text are accepted value by value; a bad one names its row.
    const text = await copy(
      'text.parquet',
      "SELECT * FROM (VALUES ('1', 0.5, 'x'), ('2', 1.5, 'y'), ('three', 2.5, 'z')) t(id, score, name)",
    );
    await assert.rejects(
      db.readTable('t', { path: text, columns: { ...cols } }),
      /text\.parquet:3: row 3, column 'id'/,
    );
    // A typed file reads through the fast path with its rows numbered from 1.
    const typed = await copy(
      'typed.parquet',
      'SELECT i::BIGINT AS id, i / 2 AS score, i::VARCHAR AS name FROM range(5) t(i)',
    );
    const rep = await db.readTable('t', { path: typed, columns: { ...cols } });
    assert.equal(rep.rows, 5);
    assert.deepEqual(await db.rows('SELECT min(_line), max(_line), sum(id) FROM t'), [[1n, 5n, 10n]]);
    // Truncated: the file is named.
    const cut = join(dir, 'cut.parquet');
    writeFileSync(cut, readFileSync(typed).subarray(0, 40));
    await assert.rejects(
      db.readTable('t', { path: cut, columns: { ...cols } }),
      /cut\.parquet: not a readable Parquet file/,
    );
  } finally {
    db.close();
  }
});
