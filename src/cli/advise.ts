// `fanout advise`: measures instead of asking. Runs the task on a sample, measures what an
// item costs (and how much that varies) and what moving its input and output between
// threads costs; probes what fanout adds to each item here, what one message to a worker
// costs and how much speed each thread keeps when all are busy; predicts the speedup here
// and on more cores, picks a thread count and a policy, then checks its own prediction by
// running the sample both ways, beside each other.
import { Command, Option } from 'commander';
import type { TaskFunction } from '../../workers/task-host.js';
import { calibrate, spin } from '../../workers/workloads.js';
import { builtins } from '../builtins.js';
import { isPromise } from '../call.js';
import { DEFAULT_TARGET_MS, DEFAULT_MAX_CHUNK as MAX_CHUNK } from '../chunking.js';
import { counted, describeMachine, usableCores } from '../machine.js';
import { pack, unpack } from '../protocol.js';
import { createRunner, type Runner } from '../runner.js';
import { integerFrom } from './args.js';
import {
  FORMATS,
  type Format,
  malformedLine,
  openInput,
  readRecords,
  taskFromArgs,
  taskOutputToStderr,
  UsageError,
  writeStdout,
} from './io.js';

export interface AdviseFlags {
  readonly export: string;
  readonly sample: string;
  readonly format: Format;
  readonly cores: number[];
  readonly json?: boolean;
}

/** What one chunk should cost: the runner's own automatic target. */
const TARGET_CHUNK_MS = DEFAULT_TARGET_MS;

export interface Measurement {
  readonly items: number;
  readonly failures: number;
  /**
   * Mean cost of one item on one thread (ms): a plain loop over the sample, without the
   * clock readings per item that would weigh on items of a few µs.
   */
  readonly meanMs: number;
  /** The coefficient of variation of the items' costs, and the largest one (ms). */
  readonly cv: number;
  readonly maxMs: number;
  /**
   * What moving one input and its output between threads costs (ms) beyond what the
   * probe's items (small records) cost: paid on the main thread.
   */
  readonly cloneMs: number;
  /** Round trip of one message to a worker and back (ms). */
  readonly messageMs: number;
  /**
   * What fanout adds to each item here (ms of wall time): measured with items that cost
   * nothing, every thread busy, so it holds the main thread's part and the workers'.
   */
  readonly itemMs: number;
  /**
   * How much of a thread's speed each thread keeps when all of them run pure work at once,
   * here (1 = all of it): a VM's cores can be slower than they claim once all are busy.
   */
  readonly efficiency: number;
}

export interface Prediction {
  readonly threads: number;
  /** The chunk size that automatic chunking settles at. */
  readonly chunk: number;
  readonly speedup: number;
  /** What costs the most beyond the work shared evenly by the threads: the reason to tell. */
  readonly limit: Limit;
}

/**
 * `slow-threads`: threads keep little of their speed when all run; `per-item`: what fanout
 * adds to each item; `messages`: the round trips; `slowest-item`: the run waits for its
 * slowest item; `none`: one thread, or nothing to run.
 */
export type Limit = 'slow-threads' | 'per-item' | 'messages' | 'slowest-item' | 'none';

/** Why parallelism does not pay, from the model's largest loss. */
function whyNot(limit: Limit, m: Measurement, perItem: number): string {
  switch (limit) {
    case 'slow-threads':
      return `Threads here keep only ${(m.efficiency * 100).toFixed(0)}% of their speed when all run at once (shared or throttled cores), which takes back most of what running in parallel saves`;
    case 'messages':
      return `A message to a worker and back (${fmtMs(m.messageMs)}) costs more than the items it carries save`;
    case 'slowest-item':
      return `The slowest item (${fmtMs(m.maxMs)}) is most of the work: the run waits for it whatever the threads do`;
    case 'none':
      return m.items === 0
        ? 'The sample has no items to share'
        : 'This machine has one core: there is no other to share the work with';
    default:
      return `What fanout adds to an item (${fmtMs(perItem)}) costs about as much as what running it in parallel saves`;
  }
}

/**
 * The model of a call with automatic chunks: the work is shared by the threads; every item
 * adds what the probe measured and what moving its input and output costs beyond the
 * probe's; each message costs a round trip; the last items leave the other threads idle
 * for about half the longest item; each thread keeps the share of its speed measured here.
 * What fanout adds per item is taken not to shrink with more threads (the main thread's
 * part does not), so predictions for more cores lean low.
 */
export function predict(m: Measurement, threads: number): Prediction {
  const work = m.items * m.meanMs;
  const share = Math.ceil(m.items / Math.max(1, threads));
  const chunk = Math.max(
    1,
    Math.min(share, MAX_CHUNK, Math.floor(TARGET_CHUNK_MS / Math.max(m.meanMs, 1e-6))),
  );
  if (threads <= 1 || m.items === 0) {
    return { threads: Math.max(1, threads), chunk, speedup: threads <= 1 ? 1 : 0, limit: 'none' };
  }
  // The chunks at the target size, then about one smaller chunk per thread at the end.
  const messages = Math.ceil(m.items / chunk) + threads;
  const even = work / threads;
  const losses: [Limit, number][] = [
    ['slow-threads', work / (threads * m.efficiency) - even],
    ['per-item', m.items * (m.itemMs + m.cloneMs)],
    ['messages', (messages * m.messageMs) / threads],
    ['slowest-item', m.maxMs / 2],
  ];
  const parallel = losses.reduce((sum, [, ms]) => sum + ms, even);
  const alone = m.maxMs + m.messageMs;
  const wall = Math.max(parallel, alone);
  const limit: Limit =
    alone > parallel ? 'slowest-item' : losses.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  return { threads, chunk, speedup: wall > 0 ? work / wall : 1, limit };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Moves `values` to another thread and back into objects, as a chunk of them goes. */
function cross(values: readonly unknown[]): void {
  const packed = pack(values);
  if (packed) unpack(structuredClone(packed));
  else structuredClone(values);
}

/**
 * What moving `values` to another thread costs, per value (ms), sent as a chunk is: packed
 * by column when they are records of one shape (see pack()), cloned as they are otherwise.
 */
function crossingMs(values: readonly unknown[]): number {
  if (values.length === 0) return 0;
  try {
    cross(values.slice(0, 64)); // the first calls run before the JIT has compiled anything
    const start = performance.now();
    cross(values);
    return (performance.now() - start) / values.length;
  } catch {
    // One value cannot be cloned (its item fails on the threads): time the others alone.
    let ms = 0;
    for (const value of values) {
      const one = performance.now();
      try {
        structuredClone(value);
      } catch {}
      ms += performance.now() - one;
    }
    return ms / values.length;
  }
}

/** The task's second argument, as a first attempt gets it. */
const CTX = { attempt: 1, progress: () => {} };

/** The sample in a plain loop, as a program without fanout would run it (ms). */
async function loopMs(fn: TaskFunction, inputs: readonly unknown[]): Promise<number> {
  const start = performance.now();
  for (const input of inputs) {
    try {
      const value = fn(input, CTX);
      if (isPromise(value)) await value;
    } catch {}
  }
  return performance.now() - start;
}

/** Rounds of the check: the sequential loop, then the threads. */
const CHECK_ROUNDS = 3;

async function measure(
  fn: TaskFunction,
  inputs: readonly unknown[],
): Promise<{
  m: Omit<Measurement, 'messageMs' | 'itemMs' | 'cloneMs' | 'efficiency'>;
  outputs: unknown[];
}> {
  // Warm up the JIT on a few items, then time each item once.
  await loopMs(fn, inputs.slice(0, 5));
  const costs: number[] = [];
  const outputs: unknown[] = [];
  let failures = 0;
  for (const input of inputs) {
    const start = performance.now();
    let output: unknown;
    try {
      output = fn(input, CTX);
      if (isPromise(output)) output = await output;
    } catch {
      failures++;
    }
    costs.push(performance.now() - start);
    outputs.push(output);
  }
  // The mean from the sample again, in a plain loop: a clock reading costs ~50 ns here, and
  // on 1 µs items, timing each one made the loop a third slower.
  const sequentialMs = await loopMs(fn, inputs);
  const timedMean = mean(costs);
  const sd = Math.sqrt(mean(costs.map((c) => (c - timedMean) ** 2)));
  return {
    m: {
      items: inputs.length,
      failures,
      meanMs: sequentialMs / inputs.length,
      cv: timedMean > 0 ? sd / timedMean : 0,
      maxMs: Math.max(0, ...costs),
    },
    outputs,
  };
}

/** Items that cost (almost) nothing: what the probe sends through the threads. */
const PROBE_ITEMS = 20_000;

/** Items of the efficiency probe: ~1 ms each, this many per thread. */
const EFFICIENCY_ITEMS_PER_THREAD = 24;
/** Rounds of it (loop, then threads): the median holds against a noisy machine. */
const EFFICIENCY_ROUNDS = 5;

/**
 * What fanout costs here, on a warm runner: the round trip of one message, the wall time
 * per item of a call whose items cost nothing (the best of three), and how much of its
 * speed each thread keeps when all run ~1 ms items (the median of rounds beside the loop).
 */
async function probe(
  runner: Runner,
): Promise<{ messageMs: number; itemMs: number; crossingMs: number; efficiency: number }> {
  const one = { iterations: 1, seed: 0 };
  const items = Array.from({ length: PROBE_ITEMS }, (_, seed) => ({ iterations: 1, seed }));
  let outputs = await runner.all(builtins.spin, items); // start-up, module loads, the JIT
  const rounds = 50;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) await runner.run(builtins.spin, one);
  const messageMs = (performance.now() - t0) / rounds;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    outputs = await runner.all(builtins.spin, items);
    best = Math.min(best, performance.now() - start);
  }
  const iterations = calibrate(1000);
  const work = Array.from({ length: EFFICIENCY_ITEMS_PER_THREAD * runner.threads }, (_, seed) => ({
    iterations,
    seed,
  }));
  await runner.all(builtins.spin, work);
  const ratios: number[] = [];
  for (let i = 0; i < EFFICIENCY_ROUNDS; i++) {
    let start = performance.now();
    for (const input of work) spin(input);
    const sequentialMs = performance.now() - start;
    start = performance.now();
    await runner.all(builtins.spin, work);
    ratios.push(sequentialMs / ((performance.now() - start) * runner.threads));
  }
  return {
    messageMs,
    itemMs: best / PROBE_ITEMS,
    crossingMs: crossingMs(items) + crossingMs(outputs),
    efficiency: Math.min(1, median(ratios)),
  };
}

function fmtMs(ms: number): string {
  if (ms >= 1) return `${ms.toFixed(ms >= 100 ? 0 : 2)} ms`;
  return `${(ms * 1000).toFixed(ms * 1000 >= 10 ? 0 : 1)} µs`;
}

export function adviseCommand(): Command {
  return new Command('advise')
    .description('Measure a task on a sample and predict what running it in parallel will buy.')
    .argument('<module>', 'the task module (.js, .mjs, .ts...): a file path')
    .option('-e, --export <name>', 'the export of the module to run', 'default')
    .requiredOption('-s, --sample <file>', 'sample inputs, in --format (a few hundred is plenty)')
    .addOption(
      new Option('-f, --format <format>', 'format of the sample').choices(FORMATS).default('jsonl'),
    )
    .option(
      '--cores <n...>',
      'also predict for these core counts',
      (value: string, previous: number[] | undefined) => [
        ...(previous ?? []),
        integerFrom(1)(value),
      ],
    )
    .option('--json', 'print the measurements, predictions and check as JSON')
    .action(async (module: string, flags: AdviseFlags) => {
      process.exitCode = await advise(module, { ...flags, cores: flags.cores ?? [4, 8, 16, 64] });
    });
}

export async function advise(modulePath: string, flags: AdviseFlags): Promise<number> {
  // Else what the task writes to standard output would land in the report (or its JSON).
  taskOutputToStderr();
  let fn: TaskFunction;
  let task: Awaited<ReturnType<typeof taskFromArgs>>['task'];
  const inputs: unknown[] = [];
  // Lines of the sample that cannot be read: how many, and why the first.
  let malformed = 0;
  let firstMalformed = '';
  try {
    ({ task, fn } = await taskFromArgs(modulePath, flags.export));
    const sample = openInput(flags.sample, '--sample');
    try {
      for await (const record of readRecords(sample.stream, flags.format)) {
        if (record.ok) {
          inputs.push(record.value);
        } else {
          malformed++;
          if (malformed === 1) firstMalformed = malformedLine(record.line, record.error);
        }
      }
    } catch (error) {
      // (A JSON sample that is no array, or too long to read whole.)
      if (error instanceof UsageError) {
        throw new UsageError(`the sample ${flags.sample} (--sample): ${error.message}`);
      }
      throw error;
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`fanout advise: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const left =
    malformed > 1 ? `${malformed} lines malformed, the first: ${firstMalformed}` : firstMalformed;
  if (inputs.length === 0) {
    process.stderr.write(
      `fanout advise: the sample ${flags.sample} (--sample) has no valid inputs${left ? `: ${left}` : ''}\n`,
    );
    return 2;
  }
  if (left) process.stderr.write(`fanout advise: left out of the sample (--sample): ${left}\n`);
  const here = usableCores();
  const { m, outputs } = await measure(fn, inputs);
  await using runner = createRunner({ threads: here });
  const costs = await probe(runner);
  const measurement: Measurement = {
    ...m,
    cloneMs: Math.max(0, crossingMs(inputs) + crossingMs(outputs) - costs.crossingMs),
    messageMs: costs.messageMs,
    itemMs: costs.itemMs,
    efficiency: costs.efficiency,
  };
  const best = predict(measurement, here);
  const pays = best.speedup >= 1.1;
  const threads = pays ? here : 0;
  const policy = measurement.failures > 0 ? 'settle' : 'fail-fast';

  // Check the prediction: the sample on the threads, as a run would go (automatic chunks),
  // beside the plain loop, in rounds (the median of each). A first run, untimed: module
  // loads and the JIT's first compiles in every thread, and the chunk sizer learning the
  // task's cost (20,000 items of 6 µs: a fresh runner's first call measured 0.72-0.77x, its
  // later calls 0.95-1.39x).
  await runner.all(task, inputs, { policy: 'settle' });
  const rounds: { sequentialMs: number; parallelMs: number }[] = [];
  for (let round = 0; round < CHECK_ROUNDS; round++) {
    const sequential = await loopMs(fn, inputs);
    const t0 = performance.now();
    await runner.all(task, inputs, { policy: 'settle' });
    rounds.push({ sequentialMs: sequential, parallelMs: performance.now() - t0 });
  }
  const check = {
    sequentialMs: median(rounds.map((r) => r.sequentialMs)),
    parallelMs: median(rounds.map((r) => r.parallelMs)),
    measured: median(rounds.map((r) => r.sequentialMs / r.parallelMs)),
  };
  const elsewhere = flags.cores.map((cores) => predict(measurement, cores));

  if (flags.json) {
    writeStdout(
      `${JSON.stringify({ machine: describeMachine(), measurement, advice: { pays, threads, chunk: 'auto', autoChunk: best.chunk, policy }, predicted: [best, ...elsewhere], check }, null, 2)}\n`,
    );
    return 0;
  }
  const perItem = measurement.itemMs + measurement.cloneMs;
  const lines = [
    `fanout advise: ${describeMachine()}`,
    '',
    `sample: ${counted(m.items, 'item')}, ${m.failures} failed`,
    `cost per item: ${fmtMs(m.meanMs)} on average (max ${fmtMs(m.maxMs)}, variation ${(m.cv * 100).toFixed(0)}%)`,
    `threads here keep ${(measurement.efficiency * 100).toFixed(0)}% of their speed when all run at once; what fanout adds per item: ${fmtMs(measurement.itemMs)} (items that cost nothing, every thread busy), and ${fmtMs(measurement.cloneMs)} more to move this input and output between threads; one message to a worker and back: ${fmtMs(measurement.messageMs)}`,
    '',
    `parallelism ${pays ? 'pays' : 'does not pay'} here: predicted ${best.speedup.toFixed(2)}x on ${here} cores.`,
    pays
      ? `  Each item costs ${fmtMs(m.meanMs)} of work, shared by ${counted(here, 'thread')}, against ${fmtMs(perItem)} that fanout adds to it.`
      : `  ${whyNot(best.limit, measurement, perItem)}; run it in one thread (--threads 0).`,
    `chunk size: auto, the default (--chunk auto): about ${counted(best.chunk, 'item')} a message here (${fmtMs(best.chunk * m.meanMs)} of work${best.chunk * m.meanMs >= measurement.messageMs ? ': hides the message cost' : `, less than a message costs: ${best.chunk < MAX_CHUNK ? 'the input has too few items for larger chunks' : 'the largest chunk there is'}`}), and smaller ones at the end of the input so that no thread idles${m.cv > 1 ? '; costs vary a lot, and auto adapts to that' : ''}.`,
    `threads: ${threads === 0 ? '0 (in this thread)' : `${threads}, one per core: CPU-bound work gains nothing from more`}.`,
    `policy: ${policy}: ${policy === 'settle' ? `${m.failures} of ${m.items} sample items failed, so fail-fast would likely stop a full run early; settle runs everything and lists what failed (--errors).` : 'no sample item failed, so a failure in a full run is likely worth stopping for.'}`,
    '',
    'predicted speedup on other machines (taking what fanout adds per item as no smaller there):',
    ...elsewhere.map(
      (p) =>
        `  ${String(p.threads).padStart(3)} cores: ${p.speedup.toFixed(2)}x (chunks of about ${p.chunk})`,
    ),
    '',
    `check on this sample (median of ${CHECK_ROUNDS} rounds): sequential ${fmtMs(check.sequentialMs)}, ${counted(here, 'thread')} ${fmtMs(check.parallelMs)}: measured ${check.measured.toFixed(2)}x, predicted ${best.speedup.toFixed(2)}x.`,
  ];
  writeStdout(`${lines.join('\n')}\n`);
  return 0;
}
