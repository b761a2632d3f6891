/** `kdrec index …` driven in-process through commander, for the serving tests. */
import { Command } from 'commander';
import * as indexCmd from '../../src/cli/commands/indexCmd.js';

/** A program with the index commands; commander errors throw instead of exiting. */
export function indexProgram(): Command {
  const p = new Command();
  p.exitOverride();
  p.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  indexCmd.register(p);
  return p;
}

/** Runs `kdrec ARGS` and returns what the command wrote to stdout. */
export async function runIndexCli(args: string[]): Promise<string> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  // The commands write strings; the test runner's own events (binary, to the parent process) pass through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (typeof chunk !== 'string') return write(chunk, ...rest);
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    await indexProgram().parseAsync(['node', 'kdrec', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}
