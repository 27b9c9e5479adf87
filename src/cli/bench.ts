// `fanout bench`: the benchmark suite (bench/) from the command line. The suite and the
// peers it measures come with the repository and its dev dependencies, not with the
// package, so the suite is loaded only when the command runs.
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { threadsFrom } from './args.js';
import {
  CONTENDER_NAMES,
  type ContenderName,
  SIZE_NAMES,
  type SizeName,
  SPIN_SIZES,
  WORKLOAD_NAMES,
  WORKLOAD_SIZES,
  type WorkloadName,
} from './bench-catalog.js';

/** What `fanout bench` parsed, as commander hands it over. */
export interface BenchFlags {
  readonly workload?: WorkloadName[];
  readonly size?: SizeName[];
  readonly contenders?: ContenderName[];
  readonly quick?: boolean;
  readonly threads?: number;
  readonly time?: number;
  readonly scaling: boolean;
  readonly chart: boolean;
  readonly out: string;
  readonly json?: boolean;
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError(`Expected a number from 0 and up, got \`${value}\`.`);
  }
  return n;
}

const HELP_AFTER = `
Every case runs the sequential loop on the main thread (the baseline) and then each
contender on the same items, in the same process. Each row is checked against the
sequential results before it is timed: a contender that returns a wrong result is
marked FAILED and the command exits with status 1.

Columns: median ms and p25–p75 ms of the measured runs, ±rme (95% margin of error of
the mean), speedup (sequential median / median), efficiency (speedup / threads),
overhead µs/item ((median − sequential median / threads) / items).

Sizes: spin takes ${SPIN_SIZES.join(', ')} (the cost of one item; heavy is a
heavy-tailed mix); the other workloads take ${WORKLOAD_SIZES.join(', ')}.

Writes results.json, results.md, speedup.svg and scaling.svg to --out.

Examples:
  fanout bench --quick
  fanout bench --workload spin --size 1us 2ms --contenders fanout piscina
  fanout bench --workload countPrimes blur --size large --no-scaling
  fanout bench --json > results.json`;

/** Runs the suite with the parsed flags; resolves with the exit code. */
export async function runBench(flags: BenchFlags): Promise<number> {
  let suite: typeof import('../../bench/suite.js');
  let report: typeof import('../../bench/report.js');
  try {
    [suite, report] = await Promise.all([
      import('../../bench/suite.js'),
      import('../../bench/report.js'),
    ]);
  } catch (error) {
    process.stderr.write(
      `fanout bench: the benchmark suite could not be loaded (${(error as Error).message}).\nIt comes with fanout's repository, not with the package: clone it, then \`npm ci && npm start\`.\n`,
    );
    return 1;
  }
  // The results folder is made before the suite runs (minutes), so that one that cannot be
  // made is a usage error at once, not a crash at the end that loses every result.
  try {
    await mkdir(resolve(flags.out), { recursive: true });
  } catch (error) {
    process.stderr.write(
      `fanout bench: cannot write the results to ${flags.out}: ${(error as Error).message}\n`,
    );
    return 2;
  }
  // Progress goes to stderr so that stdout carries only the table, or only the JSON.
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let result: Awaited<ReturnType<typeof suite.runSuite>>;
  try {
    result = await suite.runSuite({
      ...(flags.workload ? { workloads: flags.workload } : {}),
      ...(flags.size ? { sizes: flags.size } : {}),
      ...(flags.contenders ? { contenders: flags.contenders } : {}),
      ...(flags.threads === undefined ? {} : { threads: flags.threads }),
      ...(flags.time === undefined ? {} : { timeMs: flags.time }),
      quick: flags.quick ?? false,
      scaling: flags.scaling,
      log,
    });
  } catch (error) {
    // A selection that matches nothing is a usage error (status 2, like a bad flag): the
    // suite names what it accepts.
    process.stderr.write(`fanout bench: ${(error as Error).message}\n`);
    return error instanceof RangeError ? 2 : 1;
  }
  const files = await report.writeResults(result, flags.out, { charts: flags.chart });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ...result, files }, null, 2)}\n`);
  } else {
    const lines = [
      '',
      `fanout bench on ${result.machine.description}`,
      '',
      report.formatTable(result),
    ];
    if (result.scaling) {
      lines.push(
        '',
        `scaling: ${result.scaling.contender}, ${result.scaling.items} items of ${result.scaling.label}`,
        report.formatScaling(result),
      );
    }
    lines.push(
      '',
      `results: ${files.json}`,
      `         ${files.markdown}`,
      ...files.charts.map((c) => `         ${c}`),
    );
    if (files.chartError) lines.push(`no chart: ${files.chartError}`);
    lines.push(
      `${result.failures === 0 ? 'every result checked' : `${result.failures} row(s) FAILED`}; took ${(result.durationMs / 1000).toFixed(1)} s`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return result.failures === 0 ? 0 : 1;
}

/** The `bench` subcommand. */
export function benchCommand(): Command {
  return new Command('bench')
    .description(
      'Benchmark the built-in workloads: the sequential loop, fanout and its peers (raw Piscina, tinypool, workerpool, poolifier) in one run, with a chart and a scaling sweep',
    )
    .addOption(
      new Option('-w, --workload <names...>', 'workloads to run (default: all)').choices(
        WORKLOAD_NAMES,
      ),
    )
    .addOption(
      new Option(
        '-s, --size <sizes...>',
        'sizes to run (default: all; with --quick: the spin sizes and small)',
      ).choices(SIZE_NAMES),
    )
    .addOption(
      new Option(
        '-c, --contenders <names...>',
        'contenders against the sequential loop, which always runs (default: all)',
      ).choices(CONTENDER_NAMES),
    )
    .option('-q, --quick', 'fewer items and runs: under a minute on two cores')
    .option(
      '-t, --threads <n>',
      'threads of every parallel contender, and the top of the scaling sweep (default: the cores this process may use)',
      threadsFrom(1),
    )
    .option(
      '--time <ms>',
      'measured runs of each row add up to about this many ms (default: 1000; with --quick: 150)',
      nonNegativeNumber,
    )
    .option('--no-scaling', 'skip the scaling sweep (fanout on 1..threads threads)')
    .option('--no-chart', 'do not draw the charts')
    .option('-o, --out <dir>', 'where to write the results', 'bench/results')
    .option('--json', 'print the results as JSON on stdout and nothing else (progress: stderr)')
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: BenchFlags) => {
      process.exitCode = await runBench(flags);
    });
}
