import { Command } from 'commander';
import { register } from './src/cli/commands/data.js';
const p = new Command(); register(p);
p.parseAsync(process.argv).catch((e) => { console.error('kdrec:', e.message); process.exitCode = 1; });
