#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
/**
 * kdrec command-line entry. Each command lives in its own file under ./commands and exports
 * `register(program)`; this file only wires them together so commands stay independent.
 */
import { Command } from 'commander';
import { commandModules } from './commands/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(here, '..', '..', '..', 'package.json'), 'utf8')) as {
  version: string;
};

const program = new Command();
program
  .name('kdrec')
  .description(
    'Train recall and pre-ranking models by knowledge distillation from a ranking model.\n' +
      'Start with `kdrec demo`: it simulates a small world and compares distilled students with a plain one.',
  )
  .version(pkg.version)
  .showHelpAfterError();

for (const mod of commandModules) mod.register(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`kdrec: ${msg}\n`);
  if (process.env['KDREC_DEBUG'] && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
});
