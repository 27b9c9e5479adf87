// What runner.graph() takes and gives: nodes that need each other's results (worker tasks
// or main-thread functions), their options, outcomes and report, and the checks made
// before anything starts. Running one is src/graph-run.ts.
import type { Outcome } from './call.js';
import { type Deps, topologicalOrder } from './dag.js';
import { invalidType, invalidValue } from './errors.js';
import { functionOption, knownKeys, numberOption, oneOf } from './options.js';
import type { Policy } from './policies.js';
import type { RunOptions } from './runner.js';
import type { CallStats } from './stats.js';
import { type FunctionJobContext, isTask, type Task } from './task.js';

/** A node's dependencies' results, by name: what a node run when they all fulfilled gets. */
export type DepValues = Readonly<Record<string, unknown>>;

/** A node's dependencies' outcomes, by name: what a `when: 'all-done'` node gets. */
export type DepOutcomes = Readonly<Record<string, NodeOutcome>>;

/** A node that did not run because a dependency failed or was itself skipped. */
export interface SkippedOutcome {
  readonly status: 'skipped';
  /** The dependency that did not fulfil. */
  readonly dependency: string;
  /** The failed node the skip goes back to (`dependency` itself when it failed). */
  readonly failed: string;
  /** The same in words: `dependency "b" was skipped because "a" failed`. */
  readonly reason: string;
}

/** How one node ended: fulfilled or rejected (like a job of `all`), or skipped. */
export type NodeOutcome<T = unknown> = Outcome<T> | SkippedOutcome;

/**
 * When a node runs: `'all-fulfilled'` once every dependency fulfilled (it gets their
 * values; if one fails or is skipped, the node is skipped); `'all-done'` once every
 * dependency has ended, however (it gets their outcomes).
 */
export type NodeWhen = 'all-fulfilled' | 'all-done';

export const NODE_WHEN: readonly NodeWhen[] = ['all-fulfilled', 'all-done'];

interface NodeCommon {
  /** Names of the nodes whose results this node needs. @default [] */
  readonly deps?: readonly string[] | undefined;
  /**
   * What the node costs compared with the others, in any unit (only ratios matter): ready
   * nodes with the most cost still ahead of them on their path get threads first.
   * @default 1
   */
  readonly cost?: number | undefined;
}

interface WhenFulfilled {
  /** When the node runs; see {@link NodeWhen}. @default 'all-fulfilled' */
  readonly when?: 'all-fulfilled' | undefined;
}

interface WhenDone {
  /** When the node runs; see {@link NodeWhen}. @default 'all-fulfilled' */
  readonly when: 'all-done';
}

// Inputs cross to a worker by structured clone, so an input is never a function itself:
// a function there is always "compute the input from the dependencies". Spelling the
// other values out (not `unknown`) keeps that function's parameter contextually typed;
// `CheckedNodes` then checks the input against the task.
type Value = object | string | number | bigint | boolean | null | undefined;

interface TaskPart<D> {
  /** The worker task to run, made by `defineTask()`. */
  readonly task: Task;
  /**
   * The task's input, or a function of the dependencies that returns it, called on the
   * main thread just before the node starts. Left out, the task gets `undefined` (which
   * the types allow only for a task that takes it).
   */
  readonly input?: ((deps: D) => unknown) | Value;
}

interface RunPart<Out, D> {
  /** Runs on the main thread with the dependencies and `{ signal, attempt }`. */
  readonly run: (deps: D, ctx: FunctionJobContext) => Out | Promise<Out>;
}

/** A node that runs a worker task. */
export type TaskNode = NodeCommon &
  ((WhenFulfilled & TaskPart<DepValues>) | (WhenDone & TaskPart<DepOutcomes>));

/** A node that runs an (async) function on the main thread, for I/O or light work. */
export type FunctionNode<Out = unknown> = NodeCommon &
  ((WhenFulfilled & RunPart<Out, DepValues>) | (WhenDone & RunPart<Out, DepOutcomes>));

/** One node of a graph: a worker task with its input, or a main-thread function. */
export type GraphNode = TaskNode | FunctionNode;

/** What `runner.graph()` takes: nodes by name. */
export type GraphNodes = Readonly<Record<string, GraphNode>>;

/**
 * Checks each task node's input (or what its input function returns) against the task; a
 * task whose input cannot be undefined needs one. And each node's `deps`, written out,
 * names nodes of the graph.
 */
export type CheckedNodes<N> = {
  readonly [K in keyof N]: (N[K] extends { readonly task: Task<infer In, unknown> }
    ? undefined extends In
      ? { readonly input?: In | ((deps: never) => In) }
      : { readonly input: In | ((deps: never) => In) }
    : unknown) &
    // (Names known only at run time, as strings, are checked then: ERR_GRAPH_UNKNOWN_DEP.)
    (N[K] extends { readonly deps: readonly (infer D)[] }
      ? string extends D
        ? unknown
        : { readonly deps?: readonly (keyof N & string)[] | undefined }
      : unknown);
};

/** The result type of one node. */
export type NodeOutput<N> = N extends { readonly task: Task<infer _In, infer Out> }
  ? Out
  : N extends { readonly run: (...args: never[]) => infer R }
    ? Awaited<R>
    : never;

/** What a fail-fast graph resolves with: each node's result, by name. */
export type GraphValues<N> = { -readonly [K in keyof N]: NodeOutput<N[K]> };

/** Each node's outcome, by name. */
export type GraphOutcomes<N> = { -readonly [K in keyof N]: NodeOutcome<NodeOutput<N[K]>> };

/**
 * Which ready node gets a free thread first: `'critical-path'` the one with the most cost
 * ahead of it (itself and its heaviest chain of dependents), `'fifo'` the one ready first.
 */
export type GraphOrder = 'critical-path' | 'fifo';

export const GRAPH_ORDERS: readonly GraphOrder[] = ['critical-path', 'fifo'];

/** Options of `graph()`. */
export interface GraphOptions extends RunOptions {
  /**
   * `'fail-fast'`: the first failure (after its retries) rejects the call with its
   * TaskError; running nodes are stopped and the rest never start. `'settle'`: every node
   * that can run, runs; the call resolves with a report, and a failed node's dependents
   * are skipped.
   * @default 'fail-fast'
   */
  readonly policy?: Policy | undefined;
  /** Most nodes of this graph running at once, main-thread nodes included. @default Infinity */
  readonly concurrency?: number | undefined;
  /**
   * Which ready node goes first when more are ready than there are free threads (or
   * room under `concurrency`). Ties go to the node ready first, then declared first (in
   * the record's key order: JavaScript puts integer-like names, `'2'`, before the others).
   * @default 'critical-path'
   */
  readonly order?: GraphOrder | undefined;
}

/** What `graph(..., { policy: 'settle' })` resolves with. */
export interface GraphReport<R> {
  /** Every node's outcome, by name. */
  readonly results: R;
  /** Nodes in all, and how many ended each way. */
  readonly counts: {
    readonly total: number;
    readonly fulfilled: number;
    readonly rejected: number;
    readonly skipped: number;
  };
  /** What the nodes that ran measured; skipped nodes never became jobs. */
  readonly stats: CallStats;
}

/** A node as validated: exactly one of `task` and `run`. */
export interface PlannedNode {
  readonly name: string;
  readonly deps: readonly string[];
  readonly cost: number;
  readonly when: NodeWhen;
  readonly task: Task | undefined;
  readonly input: unknown;
  readonly run: ((deps: unknown, ctx: FunctionJobContext) => unknown) | undefined;
}

/** A graph checked and ready to run. */
export interface GraphPlan {
  /** The nodes, in declaration order. */
  readonly nodes: ReadonlyMap<string, PlannedNode>;
  readonly deps: Deps;
  /** Each node after its dependencies. */
  readonly order: readonly string[];
}

const TASK_NODE_KEYS = ['task', 'input', 'deps', 'cost', 'when'];
const FUNCTION_NODE_KEYS = ['run', 'deps', 'cost', 'when'];

function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function parseNode(name: string, value: unknown): PlannedNode {
  const where = `nodes.${name}`;
  if (!isRecord(value)) {
    throw invalidType(where, 'a node: { task, input } or { run }, with optional deps', value);
  }
  const hasTask = value.task !== undefined;
  const hasRun = value.run !== undefined;
  if (hasTask === hasRun) {
    throw invalidType(where, 'a node with either `task` (and `input`) or `run`', value);
  }
  knownKeys(where, value, hasTask ? TASK_NODE_KEYS : FUNCTION_NODE_KEYS);
  if (hasTask && !isTask(value.task)) {
    throw invalidType(`${where}.task`, 'a task made by defineTask()', value.task);
  }
  const given = value.deps ?? [];
  if (!Array.isArray(given)) throw invalidType(`${where}.deps`, 'an array of node names', given);
  // A copy: the graph is planned from the dependencies as they are now (the caller's array
  // changed later left its counts and its dependents' inputs at odds, and it never ended).
  const deps: unknown[] = Array.from(given);
  const seen = new Set<string>();
  deps.forEach((dep: unknown, i) => {
    if (typeof dep !== 'string') throw invalidType(`${where}.deps[${i}]`, 'a node name', dep);
    if (seen.has(dep)) throw invalidValue(`${where}.deps`, 'distinct node names', dep);
    seen.add(dep);
  });
  let cost = 1;
  if (value.cost !== undefined) {
    cost = numberOption(`${where}.cost`, value.cost, 0);
    if (!Number.isFinite(cost)) {
      throw invalidValue(`${where}.cost`, 'a finite number from 0 and up', cost);
    }
  }
  return {
    name,
    deps: deps as string[],
    cost,
    when:
      value.when === undefined ? 'all-fulfilled' : oneOf(`${where}.when`, value.when, NODE_WHEN),
    task: hasTask ? (value.task as Task) : undefined,
    input: value.input,
    run: hasRun ? functionOption(`${where}.run`, value.run) : undefined,
  };
}

/**
 * Checks a graph before anything runs: each node's shape (TypeError / RangeError naming
 * it), then unknown dependencies (ERR_GRAPH_UNKNOWN_DEP) and cycles (ERR_GRAPH_CYCLE).
 */
export function parseGraph(value: unknown): GraphPlan {
  if (!isRecord(value)) throw invalidType('nodes', 'a record of nodes (a plain object)', value);
  const nodes = new Map<string, PlannedNode>();
  const deps = new Map<string, readonly string[]>();
  for (const name of Object.keys(value)) {
    const node = parseNode(name, value[name]);
    nodes.set(name, node);
    deps.set(name, node.deps);
  }
  return { nodes, deps, order: topologicalOrder(deps) };
}
