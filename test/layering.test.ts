/**
 * The layering rule, checked mechanically: every `src/<folder>/README.md` declares on its
 * `Imports:` line which other folders that folder may import, and no `.ts` file under the folder
 * imports (statically, dynamically or as a type) from a folder not listed. Issue 18: `src/serve`
 * must import nothing from `src/train` or `src/eval`, so that serving never needs a trainer.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// dist/test/layering.test.js → the repository root holds src/.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const srcDir = join(root, 'src');
const folders = readdirSync(srcDir).filter((f) => statSync(join(srcDir, f)).isDirectory());

/** The folders a README's `Imports:` paragraph allows; null = "any folder". */
function allowedImports(folder: string): Set<string> | null {
  const readme = readFileSync(join(srcDir, folder, 'README.md'), 'utf8');
  const m = /^Imports:([\s\S]*?)(?:\n\s*\n|$)/m.exec(readme);
  if (m === null) throw new Error(`src/${folder}/README.md: no 'Imports:' line`);
  const text = m[1]!;
  if (/\bany folder\b/.test(text)) return null;
  const allowed = new Set<string>();
  for (const tok of text.matchAll(/`(?:src\/)?([a-z]+)`/g))
    if (folders.includes(tok[1]!)) allowed.add(tok[1]!);
  return allowed;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return f.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.[^'"]+)['"]/gm;

/** Every (file, folder imported) pair under src/<folder> that leaves the folder. */
function crossFolderImports(folder: string): { file: string; target: string; spec: string }[] {
  const out: { file: string; target: string; spec: string }[] = [];
  for (const file of tsFiles(join(srcDir, folder))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) {
      const target = relative(srcDir, resolve(dirname(file), m[1]!)).split(sep)[0]!;
      if (target !== folder) out.push({ file: relative(root, file), target, spec: m[1]! });
    }
  }
  return out;
}

test('the import scanner sees the imports it must check', () => {
  // A scanner that matched nothing would pass every rule: serve does import engine and models.
  const serveTargets = new Set(crossFolderImports('serve').map((i) => i.target));
  assert.ok(serveTargets.has('engine') && serveTargets.has('models') && serveTargets.has('run'));
  assert.deepEqual(allowedImports('engine'), new Set(['engine']));
  assert.equal(allowedImports('cli'), null);
});

test('every src folder imports only what its README allows', () => {
  const violations: string[] = [];
  for (const folder of folders) {
    const allowed = allowedImports(folder);
    for (const imp of crossFolderImports(folder)) {
      if (imp.target === 'cli') violations.push(`${imp.file}: imports ${imp.spec} (nothing imports cli)`);
      else if (allowed !== null && !allowed.has(imp.target)) {
        violations.push(
          `${imp.file}: imports ${imp.spec}, but src/${folder}/README.md allows only ${[...allowed].join(', ') || 'nothing'}`,
        );
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('serve and engine never import train or eval', () => {
  for (const folder of ['serve', 'engine']) {
    const allowed = allowedImports(folder)!;
    assert.ok(!allowed.has('train') && !allowed.has('eval'), `src/${folder}/README.md allows train or eval`);
  }
});
