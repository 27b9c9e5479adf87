#!/usr/bin/env node
// The `fanout` command line. Each subcommand is a module of src/cli/ that makes its
// Command; this file only registers them and parses.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { adviseCommand } from './cli/advise.js';
import { benchCommand } from './cli/bench.js';
import { readerGone, stdoutHandled } from './cli/io.js';
import { runCommand } from './cli/run.js';

function version(): string {
  // Compiled, this file is dist/src/cli.js: the package's manifest is two folders up.
  for (const path of ['../../package.json', '../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
      if (manifest.name === 'fanout') return String(manifest.version);
    } catch {
      // not there: try the next
    }
  }
  return 'unknown';
}

const program = new Command('fanout')
  .description('Run independent CPU-bound work on every core, and measure what parallelism bought.')
  .version(version())
  .addCommand(runCommand())
  .addCommand(adviseCommand())
  .addCommand(benchCommand());
// Usage errors exit with status 2 (commander's own default is 1); --help and --version with 0.
for (const command of [program, ...program.commands]) command.exitOverride();

// A reader that goes away (`fanout ... | head`) breaks standard output: stop quietly with
// status 141 (128 + SIGPIPE), as Unix tools do, unless the command handles it (run stops
// its threads and completes its failures file first).
// A command that writes its records there handles every error of it (a full disk too).
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (stdoutHandled()) return;
  if (!readerGone(error)) throw error;
  process.exit(141);
});

try {
  await program.parseAsync();
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  process.exitCode = error.exitCode === 0 ? 0 : 2;
}
