#!/usr/bin/env node
// The `fanout` command line. Each subcommand is a module of src/cli/ that makes its
// Command; this file only registers them and parses.
import { Command, CommanderError } from 'commander';
import { adviseCommand } from './cli/advise.js';
import { runCommand } from './cli/run.js';

const program = new Command('fanout')
  .description('Run independent CPU-bound work on every core, and measure what parallelism bought.')
  .exitOverride()
  .addCommand(runCommand())
  .addCommand(adviseCommand());

try {
  await program.parseAsync();
} catch (error) {
  // Usage errors exit with status 2; --help and --version with 0.
  if (!(error instanceof CommanderError)) throw error;
  process.exitCode = error.exitCode === 0 ? 0 : 2;
}
