// Loads task modules and runs one request. Shared by the Piscina worker entry (host.ts)
// and the inline executor, so both run tasks exactly the same way.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type MessagePort, threadId as thread } from 'node:worker_threads';
import {
  CLOCK_UNITS_PER_MS,
  Column,
  type FailureKind,
  hasDetachedBuffer,
  type ItemFailure,
  isError,
  now,
  type ProgressReceiver,
  readerOf,
  type SerializedError,
  serializeError,
  type TaskRef,
  type TaskResponse,
  type WireRequest,
} from '../src/protocol.js';

/** What a task receives as its second argument (frozen; first attempts may share one). */
export interface TaskContext {
  /** 1 for the first attempt, 2 for the first retry, and so on. */
  readonly attempt: number;
  /**
   * Reports progress from inside a long computation to the call's `onTaskProgress`
   * (any cloneable value). A no-op when nobody listens.
   */
  readonly progress: (value: unknown) => void;
}

const ignore = () => {};

/** Where a chunk's tasks report progress. */
interface ProgressChannel {
  report(item: number, value: unknown): void;
  done(): void;
}

/** The progress channel of a chunk, through comlink; undefined when nobody listens. */
async function progressChannel(
  port: MessagePort | undefined,
): Promise<ProgressChannel | undefined> {
  if (!port) return undefined;
  const [{ wrap }, { default: nodeEndpoint }] = await Promise.all([
    import('comlink'),
    import('comlink/dist/esm/node-adapter.mjs'),
  ]);
  const receiver = wrap<ProgressReceiver>(nodeEndpoint(port as never));
  // Fire and forget: the task does not wait for the main thread to acknowledge. The main
  // thread closes the channel when it receives done(), after every report.
  return {
    report: (item, value) => void receiver.report(item, value).catch(ignore),
    done: () => void receiver.done().catch(ignore),
  };
}

type TaskModule = Record<string, unknown>;

// One import per module per thread; a failed load is forgotten so a retry can load again.
const modules = new Map<string, Promise<TaskModule>>();

const TS_EXTENSION = /\.(?:ts|mts|cts|tsx)$/;

type Tsx = { tsImport: (specifier: string, parent: string) => Promise<TaskModule> };
let tsxLoading: Promise<Tsx | Error> | undefined;

/** tsx, where it is installed; else why not. Once per thread. */
function tsx(): Promise<Tsx | Error> {
  tsxLoading ??= import('tsx/esm/api').then(
    (api) => api as Tsx,
    (error: unknown) => (isError(error) ? error : new Error(String(error))),
  );
  return tsxLoading;
}

/** What Node's own type stripping refuses that tsx takes: a load failing so gets a hint. */
const STRIP_ONLY_CODES = new Set([
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX',
  'ERR_MODULE_NOT_FOUND',
  'ERR_UNKNOWN_FILE_EXTENSION',
]);

/**
 * The module a task names: itself, or where it is a JavaScript file that is not there and
 * the TypeScript one beside it is (`tasks.ts` for `tasks.js`, `.mts` for `.mjs`, `.cts`
 * for `.cjs`, `.tsx` for `.jsx`), that one: a task named as the compiled module will be,
 * run from the sources (under tsx, or Node's type stripping), as TypeScript's own imports
 * take `.js`.
 */
export function taskModuleUrl(url: string): string {
  const parsed = new URL(url);
  const match = /\.(m|c)?js(x)?$/.exec(parsed.pathname);
  if (parsed.protocol !== 'file:' || !match) return url;
  const path = fileURLToPath(parsed);
  if (existsSync(path)) return url;
  const sibling = `${path.slice(0, -match[0].length)}.${match[1] ?? ''}ts${match[2] ?? ''}`;
  if (!existsSync(sibling)) return url;
  const found = pathToFileURL(sibling);
  found.search = parsed.search;
  found.hash = parsed.hash;
  return found.href;
}

async function importModule(url: string): Promise<TaskModule> {
  if (!TS_EXTENSION.test(new URL(url).pathname)) return import(url);
  // tsx where it is installed (an optional peer dependency), on every Node: it takes the
  // whole language and imports written without their extension, so a module that loads on
  // one Node loads on the next. Else Node's own type stripping (22.18 and later), which
  // takes erasable syntax only.
  const loader = await tsx();
  if (!isError(loader)) return loader.tsImport(url, import.meta.url);
  if (!(process.features as { typescript?: unknown }).typescript) {
    throw Object.assign(
      new Error(
        `Cannot load TypeScript task module ${url}: this Node.js (${process.version}) cannot run TypeScript by itself; install tsx (npm install tsx) or compile the module to JavaScript`,
        { cause: loader },
      ),
      { code: 'ERR_TS_LOADER_MISSING' },
    );
  }
  try {
    return await import(url);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !STRIP_ONLY_CODES.has(code)) throw error;
    // A module not found is one tsx would find only when imported without its extension.
    const missing = /Cannot find module '([^']+)'/.exec((error as Error).message)?.[1];
    if (code === 'ERR_MODULE_NOT_FOUND' && (missing === undefined || /\.\w+$/.test(missing)))
      throw error;
    const hint =
      'Node.js loaded this TypeScript module by stripping its types, which takes erasable syntax only (no enum, namespace or parameter property, no .tsx) and imports written with their extension; with tsx installed (npm install tsx), fanout loads it through tsx';
    throw Object.assign(new Error(`${(error as Error).message} (${hint})`, { cause: error }), {
      code,
    });
  }
}

function load(named: string): Promise<TaskModule> {
  let module = modules.get(named);
  if (module) return module;
  // (One copy of a module per thread, whichever name it was given by; the name is looked
  // up on disk once, not for every chunk.)
  const url = taskModuleUrl(named);
  module = modules.get(url) ?? importModule(url);
  const loaded = module;
  for (const key of new Set([named, url])) {
    modules.set(key, loaded);
    loaded.catch(() => modules.delete(key));
  }
  return loaded;
}

/** Why a module could not be loaded that says it is not there (or is a directory, no module). */
const NOT_FOUND_CODES = new Set([
  'ERR_MODULE_NOT_FOUND',
  'ENOENT',
  'ERR_TS_LOADER_MISSING',
  'ERR_UNSUPPORTED_DIR_IMPORT',
]);

// An output that cannot be cloned makes the worker crash while posting it, and the error
// that reaches the main thread then is an empty object. Primitives, typed arrays and
// buffers are always cloneable and skip the (copying) check. What is sent is the copy the
// check made, so that the output is read once, as posting it would (a getter runs once).
function cloned(value: unknown): { readonly value: unknown } | { readonly error: SerializedError } {
  if (typeof value !== 'object' || value === null) {
    return typeof value === 'function' || typeof value === 'symbol'
      ? {
          error: serializeError(
            new TypeError(`the output (a ${typeof value}) could not be cloned`),
          ),
        }
      : { value };
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return { value };
  try {
    return { value: structuredClone(value) };
  } catch (error) {
    return { error: serializeError(error) };
  }
}

export type TaskFunction = (input: unknown, ctx: TaskContext) => unknown;

/** Finds the task function, or says why there is none (the same for every item). */
type Unusable = { readonly kind: FailureKind; readonly error: SerializedError };

async function resolveTask(request: TaskRef): Promise<TaskFunction | Unusable> {
  let module: TaskModule;
  try {
    module = await load(request.module);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && NOT_FOUND_CODES.has(code)) {
      const message = `cannot load module ${request.module} (looking for export \`${request.export}\`): ${(error as Error).message}`;
      return {
        kind: 'not-found',
        error: serializeError(new Error(message, { cause: error })),
      };
    }
    // The module exists but failed while loading (syntax error, a throw at top level).
    return { kind: 'load', error: serializeError(error) };
  }
  const fn = exportOf(module, request.export);
  if (typeof fn === 'function') return fn as TaskFunction;
  const exported = [
    ...new Set([...Object.keys(module), ...Object.keys(compiled(module) ?? {})]),
  ].filter((k) => typeof exportOf(module, k) === 'function');
  const what = fn === undefined ? 'has no export' : 'has an export that is not a function';
  const message = `module ${request.module} ${what} named \`${request.export}\` (its function exports: ${exported.length > 0 ? exported.join(', ') : 'none'})`;
  return { kind: 'not-found', error: serializeError(new Error(message)) };
}

/**
 * A CommonJS module compiled from an ES one (by TypeScript, Babel: marked `__esModule`) is
 * imported as `{ default: module.exports, ...the names Node finds }`: its own exports, the
 * default one too, are those of `module.exports`.
 */
function compiled(module: TaskModule): Record<string, unknown> | undefined {
  const exports = module.default as Record<string, unknown> | null | undefined;
  return typeof exports === 'object' && exports !== null && exports.__esModule === true
    ? exports
    : undefined;
}

/** The module's export named `name` (see compiled). */
function exportOf(module: TaskModule, name: string): unknown {
  const exports = compiled(module);
  // (Its `default` is `module.exports` itself: its own default export is in there.)
  return exports && (name === 'default' || name in exports) ? exports[name] : module[name];
}

/**
 * The task's function in this thread, or why there is none: for tools that check a task
 * before any work starts, and that measure it where they run (the CLI's `run`, `advise`).
 */
export async function loadTask(
  ref: TaskRef,
): Promise<
  | { readonly ok: true; readonly fn: TaskFunction }
  | { readonly ok: false; readonly kind: FailureKind; readonly message: string }
> {
  const task = await resolveTask(ref);
  if (typeof task === 'function') return { ok: true, fn: task };
  return { ok: false, kind: task.kind, message: task.error.message };
}

/** The ctx of first attempts that report no progress: one for all, not one an item. */
const FIRST: TaskContext = Object.freeze({ attempt: 1, progress: ignore });

/**
 * An item's ctx (frozen: a first attempt's is shared). Made outside runRequest's loop: a
 * closure there over the loop's `i` would make V8 allocate a context for every item, even
 * where none is made.
 */
function contextOf(attempt: number, channel: ProgressChannel | undefined, item: number) {
  if (!channel) return attempt === 1 ? FIRST : Object.freeze({ attempt, progress: ignore });
  return Object.freeze({ attempt, progress: (value: unknown) => channel.report(item, value) });
}

/**
 * Runs one chunk: every item, in order, each failure kept to its own item. Never throws.
 */
export async function runRequest(
  request: WireRequest,
  onStart?: () => void,
): Promise<TaskResponse> {
  const task = await resolveTask(request);
  onStart?.();
  const { attempts } = request;
  // Each input is read as its item starts (a packed record is made then: see Reader).
  const input = readerOf(request.inputs);
  const count = request.inputs.length;
  const attempt = (i: number) => attempts?.[i] ?? 1;
  // Outputs that are numbers go straight into a typed array, others into an array (see
  // Column).
  const values = new Column(count);
  const times = new Float64Array(2 * count);
  let failures: ItemFailure[] | undefined;
  // A call that transfers moved its inputs' buffers here: a failed item's go back, so
  // that a retry has them.
  const giveBack = request.transfer === true;
  let failed = false;
  const fail = (index: number, kind: FailureKind, error: SerializedError) => {
    failed = true;
    failures ??= [];
    // (Unless the task moved a buffer of it away itself: it could not be sent. A call that
    // transfers sends its inputs as they are: this is the value the task was given.)
    const given = giveBack ? input(index) : undefined;
    failures.push(
      giveBack && !hasDetachedBuffer(given)
        ? { index, kind, error, input: given }
        : { index, kind, error },
    );
  };
  // Checking cloneability copies the output, so only a chunk of one pays for it. A bigger
  // chunk with an output that cannot be cloned crashes its worker while posting; the
  // scheduler then runs its items one by one, and this check names the culprit.
  const checkClone = count === 1;
  const channel = await progressChannel(request.progress);
  // One clock reading per group of `stride` items (one item unless the request asks for
  // more): a group starts when the one before it ends.
  const stride = request.stride ?? 1;
  const untilFulfilled = request.untilFulfilled === true;
  const finalAttempt = request.finalAttempt ?? Number.POSITIVE_INFINITY;
  const stop = request.stop === undefined ? undefined : new Int32Array(request.stop);
  const cut = stop === undefined ? undefined : request.cut;
  const timeout = request.timeout;
  const clock = request.clock === undefined ? undefined : new Int32Array(request.clock);
  const clockBase = request.clockBase ?? 0;
  // A chunk that reaches its thread after its call stopped (queued in the pool, or sent just
  // before the stop) runs none of its items.
  let ran = stop !== undefined && Atomics.load(stop, 0) !== 0 ? 0 : count;
  let start = now();
  let first = 0;
  // This loop awaits (a task may return a promise), so V8 never inlines the task into it
  // (a value resumed at a loop's head gets no call feedback): each item costs a call (the
  // loop's whole cost over a plain one is 0.03–0.06 µs an item). Kept so: a loop that inlined it (f046442, reverted) ran 1 µs items faster,
  // but then the task's code depended on when V8 compiled the loop around it, and now and
  // then came out ~60% slower for the rest of a thread's life.
  for (let i = 0; i < ran; i++) {
    let output: unknown;
    if (clock) {
      // Which item runs, and since when (its start first: see TaskRequest.clock).
      const at = Math.round((start - clockBase) * CLOCK_UNITS_PER_MS);
      if (i === 0) Atomics.store(clock, 2, at);
      Atomics.store(clock, 0, at);
      Atomics.store(clock, 1, i);
    }
    if (typeof task !== 'function') {
      fail(i, task.kind, task.error);
    } else {
      try {
        let value = task(input(i), contextOf(attempt(i), channel, i));
        // Awaiting only real promises keeps a chunk of tiny synchronous items cheap.
        if (typeof (value as PromiseLike<unknown> | null)?.then === 'function') value = await value;
        if (!checkClone) {
          output = value;
        } else {
          const checked = cloned(value);
          if ('error' in checked) fail(i, 'data-clone', checked.error);
          else output = checked.value;
        }
      } catch (error) {
        fail(i, 'task', serializeError(error));
      }
    }
    values.push(output);
    // An item that ran past the timeout fails as timed out, even where nothing stopped it.
    // (Items are timed one by one under a timeout: stride 1.)
    const ended = timeout === undefined ? undefined : now();
    // (One that threw after running past it timed out too, as an attempt sent alone does.)
    if (ended !== undefined && ended - start > timeout!) {
      const last = failures?.at(-1);
      if (!failed)
        fail(i, 'timeout', serializeError(new Error(`ran past its timeout of ${timeout} ms`)));
      else if (last?.index === i && last.kind === 'task')
        failures![failures!.length - 1] = { ...last, kind: 'timeout' };
    }
    // (`failed`: this item failed; a failure ends its clock group.)
    const enough =
      (untilFulfilled && !failed) ||
      (failed && attempt(i) >= finalAttempt) ||
      (stop !== undefined &&
        (Atomics.load(stop, 0) !== 0 || (cut !== undefined && Atomics.load(stop, cut) !== 0))) ||
      (clock !== undefined && Atomics.load(clock, 3) !== 0);
    if (i - first + 1 < stride && i + 1 < count && !failed && !enough) continue;
    const end = ended ?? now();
    const share = (end - start) / (i - first + 1);
    times[2 * first] = start;
    for (let j = first; j < i; j++)
      times[2 * j + 1] = times[2 * j + 2] = start + (j - first + 1) * share;
    times[2 * i + 1] = end;
    start = end;
    first = i + 1;
    failed = false;
    if (enough) {
      ran = i + 1;
      break;
    }
  }
  channel?.done();
  return { values: values.values, failures, times, thread, ran: ran < count ? ran : undefined };
}
