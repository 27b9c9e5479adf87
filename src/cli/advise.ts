// `fanout advise`: measures instead of asking. Runs the task on a sample, measures what an
// item costs (and how much that varies), what moving its input and output between
// threads costs, and what one message to a worker costs here; predicts the speedup here
// and on more cores, picks a chunk size, a thread count and a policy, then checks its own
// prediction by running the sample both ways.
import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import type { TaskFunction } from '../../workers/task-host.js';
import { builtins } from '../builtins.js';
import { DEFAULT_TARGET_MS } from '../chunking.js';
import { describeMachine } from '../machine.js';
import { pack, unpack } from '../protocol.js';
import { createRunner } from '../runner.js';
import { integerFrom } from './args.js';
import { FORMATS, type Format, openInput, readRecords, taskFromArgs, UsageError } from './io.js';

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
  /** Mean cost of one item on one thread (ms), and its coefficient of variation. */
  readonly meanMs: number;
  readonly cv: number;
  readonly maxMs: number;
  /** What moving one input and its output between threads costs (ms): paid on the main thread. */
  readonly cloneMs: number;
  /** Round trip of one message to a worker and back (ms). */
  readonly messageMs: number;
}

export interface Prediction {
  readonly threads: number;
  readonly chunk: number;
  readonly speedup: number;
}

/**
 * The model: the work (items × cost) is shared by the threads; each chunk pays a message;
 * the main thread clones every input and output by itself; the last chunk leaves the
 * other threads idle for about half its length.
 */
export function predict(m: Measurement, threads: number): Prediction {
  const work = m.items * m.meanMs;
  const chunk = Math.max(
    1,
    Math.min(m.items, Math.floor(TARGET_CHUNK_MS / Math.max(m.meanMs, 1e-6))),
  );
  if (threads <= 1 || m.items === 0)
    return { threads: Math.max(1, threads), chunk, speedup: threads <= 1 ? 1 : 0 };
  const messages = Math.ceil(m.items / chunk);
  const parallel =
    work / threads + (messages * m.messageMs) / threads + Math.max(m.maxMs, chunk * m.meanMs) / 2;
  const mainThread = m.items * m.cloneMs + messages * m.messageMs * 0.2;
  const wall = Math.max(parallel, mainThread);
  return { threads, chunk, speedup: wall > 0 ? work / wall : 1 };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
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

async function measure(
  fn: TaskFunction,
  inputs: readonly unknown[],
): Promise<{ m: Omit<Measurement, 'messageMs'>; sequentialMs: number }> {
  const progress = () => {};
  // Warm up the JIT on a few items, then time each item once.
  for (const input of inputs.slice(0, Math.min(5, inputs.length))) {
    try {
      await fn(input, { attempt: 1, progress });
    } catch {
      // failures are counted below
    }
  }
  const costs: number[] = [];
  const outputs: unknown[] = [];
  let failures = 0;
  const t0 = performance.now();
  for (const input of inputs) {
    const start = performance.now();
    let output: unknown;
    try {
      output = await fn(input, { attempt: 1, progress });
    } catch {
      failures++;
    }
    costs.push(performance.now() - start);
    outputs.push(output);
  }
  const sequentialMs = performance.now() - t0;
  const meanMs = mean(costs);
  const sd = Math.sqrt(mean(costs.map((c) => (c - meanMs) ** 2)));
  return {
    m: {
      items: inputs.length,
      failures,
      meanMs,
      cv: meanMs > 0 ? sd / meanMs : 0,
      maxMs: Math.max(0, ...costs),
      cloneMs: crossingMs(inputs) + crossingMs(outputs),
    },
    sequentialMs,
  };
}

async function messageCost(threads: number): Promise<number> {
  await using runner = createRunner({ threads });
  const probe = { iterations: 1 };
  await runner.all(builtins.spin, [probe, probe, probe, probe], { chunkSize: 1 }); // start-up
  const rounds = 50;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) await runner.run(builtins.spin, probe);
  return (performance.now() - t0) / rounds;
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
  let fn: TaskFunction;
  let task: Awaited<ReturnType<typeof taskFromArgs>>['task'];
  const inputs: unknown[] = [];
  try {
    ({ task, fn } = await taskFromArgs(modulePath, flags.export));
    for await (const record of readRecords(openInput(flags.sample).stream, flags.format)) {
      if (record.ok) inputs.push(record.value);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`fanout advise: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (inputs.length === 0) {
    process.stderr.write('fanout advise: the sample has no valid inputs\n');
    return 2;
  }
  const here = availableParallelism();
  const { m, sequentialMs } = await measure(fn, inputs);
  const measurement: Measurement = { ...m, messageMs: await messageCost(here) };
  const best = predict(measurement, here);
  const pays = best.speedup >= 1.1;
  const threads = pays ? here : 0;
  const policy = measurement.failures > 0 ? 'settle' : 'fail-fast';

  // Check the prediction: the sample, on the threads, with the advice.
  let parallelMs = Number.NaN;
  {
    await using runner = createRunner({ threads: here });
    // A first run, untimed, as the sequential one came after warm-up items: thread start-up,
    // module loads and the JIT's first compiles in every thread (20,000 items of 6 µs: a
    // fresh runner's first call measured 0.72-0.77x, its later calls 0.95-1.39x).
    await runner.all(task, inputs, { policy: 'settle', chunkSize: best.chunk });
    const t0 = performance.now();
    await runner.all(task, inputs, { policy: 'settle', chunkSize: best.chunk });
    parallelMs = performance.now() - t0;
  }
  const measured = sequentialMs / parallelMs;
  const elsewhere = flags.cores.map((cores) => predict(measurement, cores));

  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ machine: describeMachine(), measurement, advice: { pays, threads, chunk: best.chunk, policy }, predicted: [best, ...elsewhere], check: { sequentialMs, parallelMs, measured } }, null, 2)}\n`,
    );
    return 0;
  }
  const lines = [
    `fanout advise: ${describeMachine()}`,
    '',
    `sample: ${m.items} items, ${m.failures} failed`,
    `cost per item: ${fmtMs(m.meanMs)} on average (max ${fmtMs(m.maxMs)}, variation ${(m.cv * 100).toFixed(0)}%)`,
    `moving one input and its output between threads: ${fmtMs(m.cloneMs)}; one message to a worker and back: ${fmtMs(measurement.messageMs)}`,
    '',
    `parallelism ${pays ? 'pays' : 'does not pay'} here: predicted ${best.speedup.toFixed(2)}x on ${here} cores.`,
    pays
      ? `  Each item costs ${fmtMs(m.meanMs)}, against ${fmtMs(measurement.messageMs / best.chunk)} of messaging per item in chunks of ${best.chunk}.`
      : `  Moving and dispatching an item costs about as much as running it; run it in one thread (--threads 0).`,
    `chunk size: ${best.chunk} (about ${fmtMs(best.chunk * m.meanMs)} of work per message: hides the message cost, small enough to balance the threads${m.cv > 1 ? '; costs vary a lot, so auto chunking, which adapts, is safer' : ''}).`,
    `threads: ${threads === 0 ? '0 (in this thread)' : `${threads}, one per core: CPU-bound work gains nothing from more`}.`,
    `policy: ${policy}: ${policy === 'settle' ? `${m.failures} of ${m.items} sample items failed, so fail-fast would likely stop a full run early; settle runs everything and lists what failed (--errors).` : 'no sample item failed, so a failure in a full run is likely worth stopping for.'}`,
    '',
    'predicted speedup on other machines:',
    ...elsewhere.map(
      (p) =>
        `  ${String(p.threads).padStart(3)} cores: ${p.speedup.toFixed(2)}x (chunks of ${p.chunk})`,
    ),
    '',
    `check on this sample: sequential ${fmtMs(sequentialMs)}, ${here} threads ${fmtMs(parallelMs)}: measured ${measured.toFixed(2)}x, predicted ${best.speedup.toFixed(2)}x.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
