// `npm run bench:core`: runner.all over CPU-bound tasks of a few milliseconds against the
// same work in a plain loop on the main thread, measured in one run with tinybench.
//
// Beside them runs the machine's ceiling: the same items split in equal static shares,
// one message per thread to plain worker threads, so no pool could spend less on
// dispatch. On a shared VM two busy vCPUs slow each other down (often hyperthreads of one
// core), so the ceiling itself is below 2x and moves from run to run: fanout is judged
// against the sequential loop and against that ceiling, in the same rounds.
//
// The machine's speed drifts, so the measurement goes in rounds: each round times the
// three side by side with tinybench, and the table gives the median of the rounds'
// ratios with their range.
import { Bench } from 'tinybench';
import { builtins, createRunner, type Task } from '../src/index.js';
import { describeMachine } from '../src/machine.js';
import {
  type CountPrimesInput,
  calibrate,
  countPrimes,
  type SpinInput,
  spin,
  type WorkloadTask,
} from '../workers/workloads.js';
import { StaticSplit } from './contenders.js';
import { median, range } from './rounds.js';

const ITEM_MS = 3;
const ITEMS = 128;
const ROUNDS = 7;

// Calibrate before any worker starts, so that start-up does not skew the measurement.
const iterations = calibrate(ITEM_MS * 1000);
const spinInputs: SpinInput[] = Array.from({ length: ITEMS }, (_, i) => ({ iterations, seed: i }));
const primeInputs: CountPrimesInput[] = Array.from({ length: ITEMS }, (_, i) => ({
  from: 20_000_000 + i * 400_000,
  to: 20_000_000 + (i + 1) * 400_000,
}));

await using runner = createRunner();
console.log(`machine: ${describeMachine()}`);
console.log(`fanout threads: ${runner.threads}; ${ROUNDS} rounds\n`);

interface Case {
  readonly name: string;
  readonly task: WorkloadTask;
  readonly inputs: readonly unknown[];
  readonly sequential: () => unknown[];
}

const cases: Case[] = [
  {
    name: `spin, ${ITEMS} items of ~${ITEM_MS} ms`,
    task: 'spin',
    inputs: spinInputs,
    sequential: () => spinInputs.map(spin),
  },
  {
    name: `countPrimes, ${ITEMS} ranges of 400k`,
    task: 'countPrimes',
    inputs: primeInputs,
    sequential: () => primeInputs.map(countPrimes),
  },
];

const split = new StaticSplit(runner.threads);
const rows: Record<string, string>[] = [];
try {
  for (const c of cases) {
    const task = builtins[c.task] as Task<unknown, unknown>;
    const contenders = {
      ceiling: () => split.run(c.task, c.inputs),
      fanout: () => runner.all(task, c.inputs),
    };
    // A fast wrong answer is a failure: check before measuring.
    const expected = JSON.stringify(c.sequential());
    for (const [name, run] of Object.entries(contenders)) {
      if (JSON.stringify(await run()) !== expected) {
        throw new Error(`${c.name}: ${name}'s results differ from the sequential loop's`);
      }
    }
    const ratios = { ceiling: [] as number[], fanout: [] as number[] };
    const p50s = { sequential: [] as number[], ceiling: [] as number[], fanout: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const bench = new Bench({ iterations: 3, time: 0, warmupIterations: 1 });
      bench.add('sequential', () => {
        c.sequential();
      });
      bench.add('ceiling', async () => {
        await contenders.ceiling();
      });
      bench.add('fanout', async () => {
        await contenders.fanout();
      });
      await bench.run();
      const [seq, ceiling, fanout] = bench.tasks.map((t) => t.result);
      if (
        seq?.state !== 'completed' ||
        ceiling?.state !== 'completed' ||
        fanout?.state !== 'completed'
      ) {
        throw new Error(`${c.name}: a task failed`);
      }
      p50s.sequential.push(seq.latency.p50);
      p50s.ceiling.push(ceiling.latency.p50);
      p50s.fanout.push(fanout.latency.p50);
      ratios.ceiling.push(seq.latency.p50 / ceiling.latency.p50);
      ratios.fanout.push(seq.latency.p50 / fanout.latency.p50);
    }
    const speedup = median(ratios.fanout);
    rows.push({
      case: c.name,
      'sequential p50 (ms)': median(p50s.sequential).toFixed(1),
      'fanout p50 (ms)': median(p50s.fanout).toFixed(1),
      'fanout speedup': `${speedup.toFixed(2)}x (${range(ratios.fanout, 2)})`,
      'ceiling speedup': `${median(ratios.ceiling).toFixed(2)}x (${range(ratios.ceiling, 2)})`,
      efficiency: `${((speedup / runner.threads) * 100).toFixed(0)}%`,
    });
  }
} finally {
  await split.close();
}
console.table(rows);
console.log(
  '\nspeedup: median over the rounds of sequential p50 / p50 (range in brackets). ceiling: the ' +
    'same items in equal static shares, one message per thread, to plain worker threads.',
);
