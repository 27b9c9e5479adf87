// The benchmark suite: every selected case run by the sequential loop and by each
// contender in the same process, checked, timed, and turned into speedup, efficiency and
// per-item overhead; then a scaling sweep of fanout over 1..N threads. It returns what it
// measured; report.ts and chart.ts write it out.

import {
  CONTENDER_NAMES,
  type ContenderName,
  SIZE_NAMES,
  type SizeName,
  WORKLOAD_NAMES,
  type WorkloadName,
} from '../src/cli/bench-catalog.js';
import { describeMachine, type MachineInfo, machineInfo, usableCores } from '../src/machine.js';
import { calibrate } from '../workers/workloads.js';
import { buildCases } from './cases.js';
import { CONTENDERS, type Contender, fanout, sequential } from './contenders.js';
import type { MeasureOptions } from './measure.js';
import { base, measureRow, type Row } from './rows.js';
import { runScaling, type ScalingResult } from './scaling.js';

export type { Row } from './rows.js';

export interface SuiteOptions {
  /** Workloads to run. @default every one */
  readonly workloads?: readonly WorkloadName[];
  /** Sizes to run (spin sizes and workload sizes). @default every one; `--quick`: spin sizes and small */
  readonly sizes?: readonly SizeName[];
  /**
   * Contenders against the sequential loop (which always runs), by name or as objects
   * (tests inject their own). @default every named one
   */
  readonly contenders?: readonly (ContenderName | Contender)[];
  /** Fewer items and runs: under a minute on two cores. @default false */
  readonly quick?: boolean;
  /** Threads of every parallel contender, and the top of the scaling sweep. @default the core count */
  readonly threads?: number;
  /** Run the scaling sweep. @default true */
  readonly scaling?: boolean;
  /** Measured runs of each row add up to about this many ms. @default 1000; quick 150 */
  readonly timeMs?: number;
  /** Fewest measured runs per row. @default 3 */
  readonly minIterations?: number;
  /** Multiplies every item count (tests use tiny ones). @default 1 */
  readonly itemScale?: number;
  /** Receives a line of progress as the suite goes. */
  readonly log?: (line: string) => void;
}

export interface SuiteResult {
  readonly schema: 'fanout-bench/1';
  readonly startedAt: string;
  readonly durationMs: number;
  readonly machine: MachineInfo & { readonly description: string };
  readonly options: {
    readonly quick: boolean;
    readonly threads: number;
    readonly workloads: readonly WorkloadName[];
    readonly sizes: readonly SizeName[];
    readonly contenders: readonly string[];
    readonly measure: MeasureOptions;
  };
  /** Spin iterations that take 1 ms on the main thread. */
  readonly spinIterationsPerMs: number;
  readonly rows: readonly Row[];
  readonly scaling: ScalingResult | undefined;
  /** Rows that failed. */
  readonly failures: number;
}

const QUICK_SIZES: readonly SizeName[] = ['1us', '50us', '2ms', '50ms', 'heavy', 'small'];

function chooseContenders(selected: SuiteOptions['contenders']): Contender[] {
  const list = selected ?? CONTENDER_NAMES;
  return list.map((entry) => {
    if (typeof entry !== 'string') return entry;
    const found = CONTENDERS[entry];
    if (!found) {
      throw new RangeError(
        `Expected a contender among ${CONTENDER_NAMES.join(', ')}, got \`${String(entry)}\``,
      );
    }
    return found;
  });
}

function checkNames<T extends string>(what: string, given: readonly T[], known: readonly T[]) {
  for (const name of given) {
    if (!known.includes(name)) {
      throw new RangeError(`Expected ${what} among ${known.join(', ')}, got \`${String(name)}\``);
    }
  }
}

export async function runSuite(options: SuiteOptions = {}): Promise<SuiteResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const log = options.log ?? (() => {});
  const quick = options.quick ?? false;
  const threads = options.threads ?? usableCores();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`Expected \`threads\` to be an integer from 1 and up, got \`${threads}\``);
  }
  const workloads = options.workloads ?? WORKLOAD_NAMES;
  const sizes = options.sizes ?? (quick ? QUICK_SIZES : SIZE_NAMES);
  checkNames('a workload', workloads, WORKLOAD_NAMES);
  checkNames('a size', sizes, SIZE_NAMES);
  const contenders = chooseContenders(options.contenders);
  const measureOptions: MeasureOptions = {
    minIterations: options.minIterations ?? 3,
    maxIterations: quick ? 20 : 50,
    timeMs: options.timeMs ?? (quick ? 150 : 1000),
    // As tinybench warms up by default: 5 runs (here, at most about timeMs of them).
    warmupIterations: 5,
  };

  const machine = machineInfo();
  log(`machine: ${describeMachine(machine)}`);
  const spinPerMs = calibrate(1000);
  log(`spin kernel: ${spinPerMs.toLocaleString('en-US')} iterations per ms on this machine`);
  const cases = buildCases({
    workloads,
    sizes,
    threads,
    quick,
    spinPerMs,
    ...(options.itemScale === undefined ? {} : { itemScale: options.itemScale }),
  });
  if (cases.length === 0) {
    throw new RangeError(
      `No case matches the workloads (${workloads.join(', ')}) and sizes (${sizes.join(', ')}): spin takes ${SIZE_NAMES.slice(0, 5).join(', ')}, the others small, medium, large`,
    );
  }

  const rows: Row[] = [];
  for (const c of cases) {
    log(`${c.label}: ${c.items.toLocaleString('en-US')} items`);
    const seq = await measureRow(c, sequential, threads, undefined, measureOptions);
    rows.push(seq.row);
    log(`  ${line(seq.row)}`);
    if (seq.row.state !== 'ok' || !seq.results || !seq.row.timing) {
      for (const contender of contenders) {
        rows.push({
          ...base(c, contender.name, threads),
          state: 'failed',
          error: { code: 'ERR_BENCH_BASELINE', message: 'the sequential loop failed' },
        });
      }
      continue;
    }
    const baseline = { results: seq.results, medianMs: seq.row.timing.medianMs };
    for (const contender of contenders) {
      const { row } = await measureRow(c, contender, threads, baseline, measureOptions);
      rows.push(row);
      log(`  ${line(row)}`);
    }
  }

  let scaling: ScalingResult | undefined;
  if (options.scaling ?? true) {
    log(`scaling: fanout on 1..${threads} threads`);
    scaling = await runScaling({
      threads,
      quick,
      spinPerMs,
      measure: measureOptions,
      contender: contenders.find((k) => k.name === 'fanout') ?? fanout,
      log,
      ...(options.itemScale === undefined ? {} : { itemScale: options.itemScale }),
    });
  }

  return {
    schema: 'fanout-bench/1',
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - t0,
    machine: { ...machine, description: describeMachine(machine) },
    options: {
      quick,
      threads,
      workloads,
      sizes,
      contenders: contenders.map((k) => k.name),
      measure: measureOptions,
    },
    spinIterationsPerMs: spinPerMs,
    rows,
    scaling,
    failures:
      rows.filter((r) => r.state === 'failed').length +
      (scaling?.points.filter((p) => p.state === 'failed').length ?? 0),
  };
}

/** One row as a progress line. */
function line(row: Row): string {
  if (row.state !== 'ok' || !row.timing) {
    return `${row.contender.padEnd(10)} ${row.state.toUpperCase()}: ${row.error?.message ?? ''}`;
  }
  return `${row.contender.padEnd(10)} ${row.timing.medianMs.toFixed(1).padStart(8)} ms  ${(row.speedup ?? 0).toFixed(2)}x`;
}
