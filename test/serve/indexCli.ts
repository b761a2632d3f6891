/** `kdrec index …` driven in-process through commander, for the serving tests; stdout capture. */
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
export function runIndexCli(args: string[]): Promise<string> {
  return captureStdout(() => indexProgram().parseAsync(['node', 'kdrec', ...args]));
}

/** Runs `fn` and returns the strings it wrote to stdout. */
export async function captureStdout(fn: () => Promise<unknown>): Promise<string> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  // The commands write strings; the test runner's own events (binary, to the parent process) pass through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (typeof chunk !== 'string') return write(chunk, ...rest);
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return out;
}
