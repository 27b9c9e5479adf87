// `npm run bench:latency`: what one small call costs, awaited one after another, the way a
// server offloads a request's work: `runner.run` (one job) and `runner.all` (8 jobs) against
// raw Piscina (`pool.run`, one task per job) on the same threads' worth of workers. The
// work itself is a few microseconds, so what is measured is the call: the wall time from
// call to result, and the main thread's CPU time per call (the event loop's cost; Linux
// only, where a thread's CPU time can be read).
//
// The machine's speed drifts, so the measurement goes in rounds, each timing the contenders
// side by side; the table gives the median of the rounds with their range.
import { readFileSync } from 'node:fs';
import { Piscina } from 'piscina';
import { builtins, createRunner } from '../src/index.js';
import { describeMachine } from '../src/machine.js';
import type { SpinInput } from '../workers/workloads.js';
import { compiled } from './paths.js';
import type { PeerMessage } from './peers/kernel.js';
import { median, range, round } from './rounds.js';

const ROUNDS = 7;
const CALLS = 400;
const input: SpinInput = { iterations: 100, seed: 1 };
const eight: SpinInput[] = Array.from({ length: 8 }, (_, seed) => ({ iterations: 100, seed }));

/** This thread's CPU time (µs), where the system tells it (Linux); undefined elsewhere. */
function threadCpuMicros(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}

await using runner = createRunner();
const pool = new Piscina<PeerMessage, unknown>({
  filename: compiled('peers/pool-worker.js'),
  minThreads: runner.threads,
  maxThreads: runner.threads,
});
console.log(`machine: ${describeMachine()}`);
console.log(`threads: ${runner.threads}; ${ROUNDS} rounds of ${CALLS} calls each\n`);

const contenders: Record<string, () => Promise<unknown>> = {
  'piscina: pool.run, 1 job': () => pool.run({ task: 'spin', input }),
  'fanout: runner.run, 1 job': () => runner.run(builtins.spin, input),
  'piscina: 8 × pool.run': () =>
    Promise.all(eight.map((item) => pool.run({ task: 'spin', input: item }))),
  'fanout: runner.all, 8 jobs': () => runner.all(builtins.spin, eight),
};

const names = Object.keys(contenders);
const wall = new Map(names.map((name) => [name, [] as number[]]));
const cpu = new Map(names.map((name) => [name, [] as number[]]));
try {
  // A wrong answer is a failure: check before measuring.
  const expected = JSON.stringify(await contenders['piscina: pool.run, 1 job']!());
  if (JSON.stringify(await contenders['fanout: runner.run, 1 job']!()) !== expected) {
    throw new Error("runner.run's result differs from Piscina's");
  }
  for (let r = 0; r < ROUNDS; r++) {
    await round(contenders, wall, CALLS, 50);
    // The main thread's CPU per call, in a plain loop of the same calls (tinybench's own
    // bookkeeping would count otherwise).
    for (const [name, call] of Object.entries(contenders)) {
      const before = threadCpuMicros();
      for (let i = 0; i < CALLS; i++) await call();
      const after = threadCpuMicros();
      if (before !== undefined && after !== undefined)
        cpu.get(name)?.push((after - before) / CALLS);
    }
  }
} finally {
  await pool.close();
}

console.table(
  names.map((name) => {
    const walls = wall.get(name)!.map((ms) => ms * 1000);
    const cpus = cpu.get(name)!;
    return {
      call: name,
      'wall p50 (µs)': `${median(walls).toFixed(0)} (${range(walls, 0)})`,
      'main CPU per call (µs)':
        cpus.length > 0 ? `${median(cpus).toFixed(0)} (${range(cpus, 0)})` : 'n/a',
    };
  }),
);
console.log(
  "\nwall p50: median over the rounds of the median call time. main CPU: the main thread's " +
    'CPU time per call, in a plain loop of the same calls, median over the rounds.',
);
