/**
 * The list of CLI command modules. Add one import and one array entry per command file.
 */
import type { Command } from 'commander';
import * as bench from './bench.js';
import * as cascadeCmd from './cascade.js';
import * as data from './data.js';
import * as demo from './demo.js';
import * as doctor from './doctor.js';
import * as evalCmd from './evalCmd.js';
import * as experiment from './experiment.js';
import * as exportCmd from './export.js';
import * as indexCmd from './indexCmd.js';
import * as serveCmd from './serve.js';
import * as simulate from './simulate.js';
import * as teacher from './teacher.js';
import * as teacherRank from './teacherRank.js';
import * as train from './train.js';

export interface CommandModule {
  register(program: Command): void;
}

export const commandModules: CommandModule[] = [
  bench,
  data,
  doctor,
  simulate,
  train,
  teacher,
  teacherRank,
  experiment,
  evalCmd,
  demo,
  exportCmd,
  indexCmd,
  serveCmd,
  cascadeCmd,
];
