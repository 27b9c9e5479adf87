// Task handles and jobs: what the caller hands to the runner.
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { invalidType, invalidValue } from './errors.js';
import type { TaskRef } from './protocol.js';

declare const types: unique symbol;

/**
 * A typed handle on a task: the export `export` of the ES module at `module`.
 * A task is `(input: In, ctx?: TaskContext) => Out | Promise<Out>`.
 */
export interface Task<In = unknown, Out = unknown> extends TaskRef {
  /** Compile-time only: carries the input and output types. */
  readonly [types]?: { readonly in: In; readonly out: Out };
}

/**
 * Names a task. `moduleUrl` is a `file:` URL (e.g. `new URL('./tasks.js', import.meta.url)`)
 * or an absolute path; the module may be JavaScript or TypeScript. `exportName` defaults
 * to `'default'`. Nothing is loaded here: a missing module or export is reported by the
 * first job that uses it, as ERR_TASK_NOT_FOUND.
 */
export function defineTask<In = unknown, Out = unknown>(
  moduleUrl: string | URL,
  exportName = 'default',
): Task<In, Awaited<Out>> {
  let module: string;
  if (moduleUrl instanceof URL) {
    if (moduleUrl.protocol !== 'file:') {
      throw invalidValue('moduleUrl', 'a file: URL or an absolute path', moduleUrl.href);
    }
    module = moduleUrl.href;
  } else if (typeof moduleUrl === 'string') {
    if (moduleUrl.startsWith('file:')) module = new URL(moduleUrl).href;
    else if (isAbsolute(moduleUrl)) module = pathToFileURL(moduleUrl).href;
    else
      throw invalidValue(
        'moduleUrl',
        'a file: URL or an absolute path (resolve relative ones with new URL(path, import.meta.url))',
        moduleUrl,
      );
  } else {
    throw invalidType('moduleUrl', 'a string or URL', moduleUrl);
  }
  if (typeof exportName !== 'string' || exportName === '') {
    throw invalidType('exportName', 'a non-empty string', exportName);
  }
  return Object.freeze({ module, export: exportName });
}

/** What a main-thread function job receives. */
export interface FunctionJobContext {
  /** Aborted when the call stops this job (fail-fast, `any` won, abort, timeout). */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, and so on. */
  readonly attempt: number;
}

/** Work that runs on the main thread beside worker tasks (I/O such as a database query). */
export type FunctionJob<Out = unknown> = (ctx: FunctionJobContext) => Out | Promise<Out>;

/** One task applied to one input, made by `job(task, input)`. */
export interface TaskJob<Out = unknown> {
  readonly kind: 'task-job';
  readonly task: Task<unknown, Out>;
  readonly input: unknown;
}

/** Anything `all`, `any` and `spawn` accept as one job. */
export type JobLike<Out = unknown> = TaskJob<Out> | FunctionJob<Out>;

/** The output type of a job. */
export type OutputOf<J> =
  J extends TaskJob<infer O> ? O : J extends FunctionJob<infer O> ? Awaited<O> : never;

/**
 * What a task must also be to run with no input: nothing more if its input may be
 * undefined (`void`, `unknown`, `T | undefined`); otherwise it is not, which the error
 * says.
 */
export type InputOptional<In> = undefined extends In
  ? unknown
  : { readonly 'its input may not be left out': never };

/** Pairs a task with one input (none, for a task whose input may be undefined). */
export function job<In, Out>(task: Task<In, Out>, input: NoInfer<In>): TaskJob<Out>;
export function job<In, Out>(task: Task<In, Out> & InputOptional<In>): TaskJob<Out>;
export function job<Out>(task: Task<unknown, Out>, input?: unknown): TaskJob<Out> {
  if (!isTask(task)) throw invalidType('task', 'a task made by defineTask()', task);
  return Object.freeze({ kind: 'task-job', task: task as Task<unknown, Out>, input });
}

export function isTask(value: unknown): value is Task {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as TaskRef).module === 'string' &&
    typeof (value as TaskRef).export === 'string'
  );
}

export function isTaskJob(value: unknown): value is TaskJob {
  return typeof value === 'object' && value !== null && (value as TaskJob).kind === 'task-job';
}
