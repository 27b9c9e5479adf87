// `npm run bench:stop`: what a call that stops early costs, as a server meets it: a map
// left after its first 1,000 results of 4,000 items of 50 µs (then the next small call,
// which waits for any thread the stop took down), and a fail-fast `all` over 200,000 tiny
// items whose item 1,000 fails (every job it never read is cancelled). Beside each, what
// the same work takes when nothing stops: the whole map, and the 1,000 items alone.
//
// The machine's speed drifts, so the measurement goes in rounds, each timing the contenders
// side by side; the table gives the median of the rounds with their range.
import { pathToFileURL } from 'node:url';
import { builtins, createRunner, defineTask } from '../src/index.js';
import { describeMachine } from '../src/machine.js';
import { calibrate, type SpinInput } from '../workers/workloads.js';
import { compiled } from './paths.js';
import { median, range, round } from './rounds.js';

const ROUNDS = 5;
const CALLS = 8;

const spinOrFail = defineTask<SpinInput & { fail?: boolean }, number>(
  pathToFileURL(compiled('stop-tasks.js')),
  'spinOrFail',
);
const fifty = calibrate(50);
const mapInputs: SpinInput[] = Array.from({ length: 4000 }, (_, seed) => ({
  iterations: fifty,
  seed,
}));
const tiny = Array.from({ length: 200_000 }, (_, seed) => ({
  iterations: 1,
  seed,
  fail: seed === 1000,
}));

await using runner = createRunner();
console.log(`machine: ${describeMachine()}`);
console.log(`threads: ${runner.threads}; ${ROUNDS} rounds of ${CALLS} calls each\n`);

const leaveMap = async () => {
  let taken = 0;
  for await (const _ of runner.map(builtins.spin, mapInputs)) if (++taken === 1000) break;
  await runner.run(builtins.spin, { iterations: 1, seed: 0 }); // the next small call
};
const failFast = async () => {
  const failed = await runner.all(spinOrFail, tiny).then(
    () => false,
    () => true,
  );
  if (!failed) throw new Error('the fail-fast call did not fail');
};
const contenders: Record<string, () => Promise<unknown>> = {
  'map of 4,000 × 50 µs, left after 1,000 (+ next call)': leaveMap,
  'map of 4,000 × 50 µs, to its end': () => runner.map(builtins.spin, mapInputs).toArray(),
  'map of the first 1,000 only': () =>
    runner.map(builtins.spin, mapInputs.slice(0, 1000)).toArray(),
  'all of 200,000 tiny items, fail-fast at item 1,000': failFast,
  'all of the first 1,000 tiny items': () => runner.all(spinOrFail, tiny.slice(0, 1000)),
};

const names = Object.keys(contenders);
const wall = new Map(names.map((name) => [name, [] as number[]]));
for (let r = 0; r < ROUNDS; r++) await round(contenders, wall, CALLS, 2);

console.table(
  names.map((name) => {
    const walls = wall.get(name)!;
    return { call: name, 'wall p50 (ms)': `${median(walls).toFixed(1)} (${range(walls, 1)})` };
  }),
);
console.log('\nwall p50: median over the rounds of the median call time.');
