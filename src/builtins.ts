// Handles on the built-in CPU-bound workloads (workers/workloads.ts), for demos,
// benchmarks and trying fanout out without writing a task module.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as W from '../workers/workloads.js';
import { defineTask, type Task } from './task.js';

// Compiled, the module sits at dist/workers/workloads.js; from source (tests), only the
// .ts exists and the worker host loads it as TypeScript.
function workloadsUrl(): URL {
  const js = new URL('../workers/workloads.js', import.meta.url);
  return existsSync(fileURLToPath(js)) ? js : new URL('../workers/workloads.ts', import.meta.url);
}

const url = workloadsUrl();

type TaskOf<F> = F extends (input: infer In) => infer Out ? Task<In, Out> : never;

/** The built-in workloads as tasks. */
export const builtins = {
  countPrimes: defineTask(url, 'countPrimes') as TaskOf<typeof W.countPrimes>,
  sha256: defineTask(url, 'sha256') as TaskOf<typeof W.sha256>,
  mandelbrotRow: defineTask(url, 'mandelbrotRow') as TaskOf<typeof W.mandelbrotRow>,
  blur: defineTask(url, 'blur') as TaskOf<typeof W.blur>,
  jsonTransform: defineTask(url, 'jsonTransform') as TaskOf<typeof W.jsonTransform>,
  sortNumbers: defineTask(url, 'sortNumbers') as TaskOf<typeof W.sortNumbers>,
  spin: defineTask(url, 'spin') as TaskOf<typeof W.spin>,
} as const;
