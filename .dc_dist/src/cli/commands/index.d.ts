/**
 * The list of CLI command modules. Add one import and one array entry per command file.
 */
import type { Command } from 'commander';
export interface CommandModule {
    register(program: Command): void;
}
export declare const commandModules: CommandModule[];
