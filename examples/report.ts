// `npm run example:report`: a weekly report gathered from four sources, each a CPU-bound
// task of a similar size, then built from all four: a graph with a fan-in. The same graph
// runs sequentially (`threads: 0`) and in parallel in one run; it prints both times, the
// speedup, and the explanation of the parallel run (work, span, the bound they set).
import { type CallTrace, createRunner, defineTask, type Runner } from '../src/index.js';
import { describeMachine } from '../src/machine.js';
import type * as Tasks from './report-tasks.js';

const tasks = new URL('./report-tasks.js', import.meta.url);
const source = (name: 'orders' | 'payments' | 'inventory' | 'traffic') =>
  defineTask<number, Tasks.SourceSummary>(tasks, name);
const buildReport = defineTask<Parameters<typeof Tasks.buildReport>[0], string>(
  tasks,
  'buildReport',
);

const WEEK = 27;
const ROUNDS = 3;

function weeklyReport(runner: Runner, onTrace?: (trace: CallTrace) => void) {
  return runner.graph(
    {
      orders: { task: source('orders'), input: WEEK },
      payments: { task: source('payments'), input: WEEK },
      inventory: { task: source('inventory'), input: WEEK },
      traffic: { task: source('traffic'), input: WEEK },
      report: {
        task: buildReport,
        input: (d) => ({
          week: WEEK,
          parts: [d.orders, d.payments, d.inventory, d.traffic] as Tasks.SourceSummary[],
        }),
        deps: ['orders', 'payments', 'inventory', 'traffic'],
        cost: 0.01,
      },
    },
    onTrace ? { onTrace } : {},
  );
}

await using sequential = createRunner({ threads: 0 });
await using parallel = createRunner();
console.log(`weekly report on ${describeMachine()}\n`);

// Warm up both (JIT, worker start-up, module loading) outside the measurement.
const expected = (await weeklyReport(sequential)).report;
await weeklyReport(parallel);

const timed = async (runner: Runner) => {
  let trace: CallTrace | undefined;
  const t0 = performance.now();
  const { report } = await weeklyReport(runner, (t) => (trace = t));
  const ms = performance.now() - t0;
  if (report !== expected) throw new Error('the report differs between runs');
  return { ms, trace: trace! };
};

const rounds: { seq: number; par: number; trace: CallTrace }[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const seq = await timed(sequential);
  const par = await timed(parallel);
  rounds.push({ seq: seq.ms, par: par.ms, trace: par.trace });
  console.log(
    `round ${round}: sequential ${seq.ms.toFixed(0)} ms, parallel on ${parallel.threads} threads ${par.ms.toFixed(0)} ms, speedup ${(seq.ms / par.ms).toFixed(2)}x`,
  );
}
const median = rounds.sort((a, b) => a.seq / a.par - b.seq / b.par)[ROUNDS >> 1]!;
console.log(`\n${expected}\n`);
console.log(
  `median round: sequential ${median.seq.toFixed(0)} ms, parallel ${median.par.toFixed(0)} ms: ${(median.seq / median.par).toFixed(2)}x on ${parallel.threads} threads\n`,
);
console.log(median.trace.summary({ sequentialMs: median.seq }));
