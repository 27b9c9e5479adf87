// The contenders: the sequential loop, fanout as users call it, and the peers, each
// given the same kernel one item per task, the way their documentation shows. A pool
// is started before its measurement and closed after it, never inside the timed region.
import { Worker } from 'node:worker_threads';
import type { ContenderName } from '../src/cli/bench-catalog.js';
import { builtins, createRunner, type Task } from '../src/index.js';
import { buffersIn } from '../src/protocol.js';
import type { WorkloadTask } from '../workers/workloads.js';
import type { BenchCase } from './cases.js';
import { compiled } from './paths.js';
import type { PeerMessage } from './peers/kernel.js';

/** A contender started for one case: what the suite times, and how to stop it. */
export interface ContenderInstance {
  /** Threads doing the work (1 for the sequential loop). */
  readonly threads: number;
  /** Whether `run` returns a promise. */
  readonly async: boolean;
  /** Runs every input of the case and returns the outputs in input order. */
  run(c: BenchCase, inputs: readonly unknown[]): unknown[] | Promise<unknown[]>;
  close(): Promise<void>;
}

export interface Contender {
  readonly name: string;
  readonly description: string;
  /** Starts the pool. Rejects with ContenderUnavailableError when its library is missing. */
  start(threads: number): Promise<ContenderInstance>;
}

/** The library a contender needs is not installed: its rows are skipped, not failed. */
export class ContenderUnavailableError extends Error {
  readonly code = 'ERR_BENCH_UNAVAILABLE';
  override name = 'ContenderUnavailableError';
}

/** Imports a peer's library, or says it is not installed. */
async function load<M>(name: string, loader: () => Promise<M>): Promise<M> {
  try {
    return await loader();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND') {
      throw new ContenderUnavailableError(
        `${name} is not installed (it is a dev dependency: npm install --save-dev ${name})`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** The buffers of an input that a transfer case moves to the worker. */
/** One `pool.run()` per item, the peers' way, moving the item's buffers when the case does. */
function runEach(
  c: BenchCase,
  inputs: readonly unknown[],
  run: (item: PeerMessage, options?: { transferList: ArrayBuffer[] }) => Promise<unknown>,
): Promise<unknown[]> {
  return Promise.all(
    inputs.map((input) =>
      run(message(c, input), c.transfer ? { transferList: transferables(input) } : undefined),
    ),
  );
}

function transferables(input: unknown): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  buffersIn(input, buffers);
  return [...buffers];
}

const message = (c: BenchCase, input: unknown): PeerMessage => ({ task: c.task, input });

export const sequential: Contender = {
  name: 'sequential',
  description: 'a plain loop over the items on the main thread: the baseline',
  start: async () => ({
    threads: 1,
    async: false,
    run: (c, inputs) => inputs.map((input) => c.run(input)),
    close: async () => {},
  }),
};

export const fanout: Contender = {
  name: 'fanout',
  description: "runner.map(task, items).toArray() with fanout's defaults (automatic chunks)",
  start: async (threads) => {
    const runner = createRunner({ threads });
    return {
      threads: runner.threads,
      async: true,
      run: (c, inputs) => {
        const task = builtins[c.task] as Task<unknown, unknown>;
        return runner.map(task, inputs, c.transfer ? { transfer: true } : undefined).toArray();
      },
      close: () => runner.close(),
    };
  },
};

export const piscina: Contender = {
  name: 'piscina',
  description: 'raw Piscina, one pool.run() per item',
  start: async (threads) => {
    const { Piscina } = await load('piscina', () => import('piscina'));
    const pool = new Piscina<PeerMessage, unknown>({
      filename: compiled('peers/pool-worker.js'),
      minThreads: threads,
      maxThreads: threads,
    });
    return {
      threads,
      async: true,
      run: (c, inputs) => runEach(c, inputs, (item, options) => pool.run(item, options)),
      close: () => pool.destroy(),
    };
  },
};

export const tinypool: Contender = {
  name: 'tinypool',
  description: 'tinypool, one pool.run() per item',
  start: async (threads) => {
    const { Tinypool } = await load('tinypool', () => import('tinypool'));
    const pool = new Tinypool({
      filename: compiled('peers/pool-worker.js'),
      minThreads: threads,
      maxThreads: threads,
    });
    return {
      threads,
      async: true,
      run: (c, inputs) => runEach(c, inputs, (item, options) => pool.run(item, options)),
      close: () => pool.destroy(),
    };
  },
};

export const workerpool: Contender = {
  name: 'workerpool',
  description: "workerpool, one pool.exec('run', [item]) per item",
  start: async (threads) => {
    const { default: wp } = await load('workerpool', () => import('workerpool'));
    const pool = wp.pool(compiled('peers/workerpool-worker.js'), {
      minWorkers: threads,
      maxWorkers: threads,
      workerType: 'thread',
    });
    return {
      threads,
      async: true,
      run: (c, inputs) =>
        Promise.all(
          inputs.map(
            (input) =>
              pool.exec(
                'run',
                [message(c, input)],
                c.transfer ? { transfer: transferables(input) } : undefined,
              ) as Promise<unknown>,
          ),
        ),
      close: async () => {
        await pool.terminate();
      },
    };
  },
};

const POOLIFIER_DESTROY_MS = 1_000;

export const poolifier: Contender = {
  name: 'poolifier',
  description: 'poolifier FixedThreadPool, one pool.execute() per item',
  start: async (threads) => {
    const { FixedThreadPool } = await load('poolifier', () => import('poolifier'));
    const pool = new FixedThreadPool<PeerMessage, unknown>(
      threads,
      compiled('peers/poolifier-worker.js'),
    );
    return {
      threads,
      async: true,
      run: (c, inputs) =>
        Promise.all(
          inputs.map((input) =>
            pool.execute(
              message(c, input),
              undefined,
              undefined,
              c.transfer ? transferables(input) : undefined,
            ),
          ),
        ),
      close: async () => {
        // poolifier 5.3's destroy() now and then never settles (a worker's answer to the
        // kill message is lost), and with nothing else to wait for the process would end
        // there: wait for it a bounded time.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          pool.destroy(),
          new Promise((resolve) => {
            timer = setTimeout(resolve, POOLIFIER_DESTROY_MS);
          }),
        ]);
        clearTimeout(timer);
      },
    };
  },
};

/**
 * Plain worker threads that each run one static share of the items (every n-th) in one
 * message per call. No pool can spend less on dispatch; without balancing, uneven items
 * leave threads idle. The `split` contender, and bench:core's ceiling.
 */
export class StaticSplit {
  readonly #workers: Worker[];

  constructor(threads: number) {
    this.#workers = Array.from(
      { length: threads },
      () => new Worker(compiled('peers/split-worker.js')),
    );
  }

  async run(task: WorkloadTask, inputs: readonly unknown[], transfer = false): Promise<unknown[]> {
    const n = this.#workers.length;
    const shares = await Promise.all(
      this.#workers.map((worker, k) => {
        const items: PeerMessage[] = [];
        const buffers: ArrayBuffer[] = [];
        for (let i = k; i < inputs.length; i += n) {
          items.push({ task, input: inputs[i] });
          if (transfer) buffers.push(...transferables(inputs[i]));
        }
        return runShare(worker, items, buffers);
      }),
    );
    return inputs.map((_, i) => shares[i % n]![Math.floor(i / n)]);
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }
}

function runShare(worker: Worker, items: PeerMessage[], transfer: ArrayBuffer[]) {
  return new Promise<unknown[]>((resolve, reject) => {
    const onMessage = (values: unknown[]) => {
      worker.off('error', onError);
      resolve(values);
    };
    const onError = (error: Error) => {
      worker.off('message', onMessage);
      reject(error);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.postMessage(items, transfer);
  });
}

export const split: Contender = {
  name: 'split',
  description:
    "the machine's ceiling, not a pool: equal static shares, one message per thread to plain worker threads",
  start: async (threads) => {
    const pool = new StaticSplit(threads);
    return {
      threads,
      async: true,
      run: (c, inputs) => pool.run(c.task, inputs, c.transfer),
      close: () => pool.close(),
    };
  },
};

/** Every named contender; the types check that each name of the catalog has one. */
export const CONTENDERS: Readonly<Record<ContenderName, Contender>> = {
  fanout,
  split,
  piscina,
  tinypool,
  workerpool,
  poolifier,
};
