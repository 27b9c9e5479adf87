// Turns the argument forms of all / any / spawn into a flat list of jobs, and shapes
// per-job results back into the caller's form (array in, array out; record in, record out).
import { arraySource, inputsSource, isPlainArray, type JobSource, type JobSpec } from './call.js';
import { invalidType } from './errors.js';
import { type FunctionJob, isTask, isTaskJob, type JobLike, type Task } from './task.js';

/**
 * The jobs of a call: one task's inputs, each job keyed by its index (no object per job),
 * or jobs of their own.
 */
export type JobList =
  | { readonly task: Task; readonly inputs: readonly unknown[]; readonly keys: undefined }
  | {
      readonly task?: undefined;
      readonly specs: JobSpec[];
      /** Record keys, or undefined when the input was a list. */
      readonly keys: string[] | undefined;
    };

export const jobCount = (list: JobList): number =>
  list.task ? list.inputs.length : list.specs.length;

export const jobSource = (list: JobList): JobSource =>
  list.task ? inputsSource(list.task, list.inputs) : arraySource(list.specs);

function toSpec(key: number | string, value: unknown, where: string): JobSpec {
  if (typeof value === 'function') return { key, fn: value as FunctionJob };
  if (isTaskJob(value)) return { key, task: value.task, input: value.input };
  throw invalidType(where, 'a job made by job(task, input) or a function', value);
}

/**
 * Accepts `(task, inputs)` or `(jobs)` where jobs is an array or a record of jobs.
 * Returns the index of the options argument, and `read()`, which gives the jobs: it reads
 * the inputs, and throws what their iterator throws (not a mistake in the arguments, which
 * parseJobs throws itself).
 */
export function parseJobs(
  first: unknown,
  second: unknown,
  method: string,
): { read: () => JobList; rest: number } {
  if (isTask(first)) {
    const inputs = second as Iterable<unknown> | null | undefined;
    if (
      inputs == null ||
      typeof (inputs as Iterable<unknown>)[Symbol.iterator] !== 'function' ||
      typeof inputs === 'string'
    ) {
      throw invalidType(
        `${method}(task, inputs): inputs`,
        'an iterable of inputs (an array, a Set, a generator)',
        second,
      );
    }
    // The inputs are read as the call starts (before all() returns): an array is copied
    // (shallowly, ~1 ns an input), since the call takes its inputs from it as they run.
    const read = (): JobList => ({
      task: first as Task,
      inputs: isPlainArray(inputs) ? inputs.slice() : Array.from(inputs),
      keys: undefined,
    });
    return { read, rest: 2 };
  }
  if (Array.isArray(first)) {
    const list = {
      specs: first.map((value, i) => toSpec(i, value, `jobs[${i}]`)),
      keys: undefined,
    };
    return { read: () => list, rest: 1 };
  }
  if (typeof first === 'object' && first !== null && !isTaskJob(first)) {
    const keys = Object.keys(first);
    const record = first as Record<string, JobLike>;
    const list = { specs: keys.map((key) => toSpec(key, record[key], `jobs.${key}`)), keys };
    return { read: () => list, rest: 1 };
  }
  throw invalidType(
    `${method}() first argument`,
    'a task (then an iterable of inputs), or an array or record of jobs',
    first,
  );
}

/**
 * Places per-job values back into the caller's shape. (Object.fromEntries defines each key,
 * so a job keyed `__proto__` gets its own key, as it had in the record given.)
 */
export function shape<T>(list: JobList, values: readonly T[]): T[] | Record<string, T> {
  if (!list.keys) return values as T[];
  return Object.fromEntries(list.keys.map((key, i) => [key, values[i] as T]));
}
