// `npm run example:chain`: an image pipeline whose stages depend on each other (a chain:
// each blur pass takes the previous pass's pixels) beside independent branches (a
// checksum, a prime scan, a sort) that need nothing from it. The chain stays in order while
// the branches overlap it; the timeline below shows each node's start and end, by thread.
// `node dist/examples/chain.js trace.json` also writes the Chrome trace, for Perfetto.
import { writeFileSync } from 'node:fs';
import {
  builtins,
  type CallTrace,
  createRunner,
  type DepValues,
  type GraphNode,
} from '../src/index.js';
import { describeMachine } from '../src/machine.js';
import { makeImage } from '../workers/workloads.js';

const SIDE = 384;
const PASSES = 4;
const image = { pixels: makeImage(SIDE, SIDE, 7), width: SIDE, height: SIDE };

const nodes: Record<string, GraphNode> = {};
for (let pass = 1; pass <= PASSES; pass++) {
  const previous = `blur${pass - 1}`;
  nodes[`blur${pass}`] = {
    task: builtins.blur,
    input: (d: DepValues) => ({
      ...image,
      pixels: pass === 1 ? image.pixels : (d[previous] as Float32Array),
      radius: 8,
    }),
    deps: pass === 1 ? [] : [previous],
  };
}
nodes.checksum = { task: builtins.sha256, input: { bytes: 16 << 20, seed: 1 } };
nodes.primes = { task: builtins.countPrimes, input: { from: 0, to: 8_000_000 } };
nodes.sorted = { task: builtins.sortNumbers, input: { count: 400_000, seed: 3 } };
nodes.publish = {
  run: (d) => ({ pixels: (d[`blur${PASSES}`] as Float32Array).length, checksum: d.checksum }),
  deps: [`blur${PASSES}`, 'checksum', 'primes', 'sorted'],
};

await using runner = createRunner();
console.log(`blur chain beside independent branches on ${describeMachine()}\n`);
await runner.graph(nodes); // warm-up: worker start-up and module loading

let trace: CallTrace | undefined;
await runner.graph(nodes, { onTrace: (t) => (trace = t) });
const { attempts } = trace!;
const at = (ms: number) => (ms - trace!.started).toFixed(0).padStart(5);

console.log('node       thread   start    end  (ms from the call start)');
for (const a of attempts) {
  const thread = a.thread === 0 ? 'main' : `w${a.thread}`;
  console.log(`${String(a.job).padEnd(10)} ${thread.padStart(6)} ${at(a.start)}  ${at(a.end)}`);
}

// A timeline: one row per thread, one letter per node, 60 columns for the whole call.
const WIDTH = 60;
const scale = WIDTH / trace!.wallMs;
const letters = new Map([...Object.keys(nodes)].map((name, i) => [name, 'ABCDEFGHIJ'[i]!]));
const rows = new Map<number, string[]>();
for (const a of attempts) {
  const row = rows.get(a.thread) ?? Array.from({ length: WIDTH }, () => '.');
  rows.set(a.thread, row);
  const from = Math.floor((a.start - trace!.started) * scale);
  const to = Math.max(from + 1, Math.ceil((a.end - trace!.started) * scale));
  for (let i = from; i < Math.min(to, WIDTH); i++) row[i] = letters.get(String(a.job))!;
}
console.log('\ntimeline:');
for (const [thread, row] of [...rows].sort((a, b) => a[0] - b[0])) {
  console.log(`  ${(thread === 0 ? 'main' : `w${thread}`).padStart(5)} |${row.join('')}|`);
}
console.log(`  ${[...letters].map(([name, letter]) => `${letter} ${name}`).join(', ')}\n`);

// The chain kept its order: each pass started after the one before it ended.
const attemptOf = (job: string) => attempts.find((a) => a.job === job)!;
for (let pass = 2; pass <= PASSES; pass++) {
  if (attemptOf(`blur${pass}`).start < attemptOf(`blur${pass - 1}`).end) {
    throw new Error(`blur${pass} started before blur${pass - 1} ended`);
  }
}
const chainEnd = attemptOf(`blur${PASSES}`).end;
const overlapped = ['checksum', 'primes', 'sorted'].filter(
  (name) => attemptOf(name).start < chainEnd,
);
console.log(
  `chain blur1 → … → blur${PASSES} ran in order; branches that overlapped it: ${overlapped.join(', ') || 'none'}\n`,
);
console.log(trace!.summary());
const file = process.argv[2];
if (file) {
  writeFileSync(file, JSON.stringify(trace!.toChromeTrace()));
  console.log(`\nChrome trace written to ${file}: open it in https://ui.perfetto.dev`);
}
