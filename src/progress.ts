// Progress of a call, reported at most every PROGRESS_INTERVAL_MS and once at the end:
// a time check per finished job is all it costs.
import { now } from './protocol.js';

export interface Progress {
  /** Jobs that succeeded. */
  readonly done: number;
  /** Jobs that failed or were cancelled (graph nodes: skipped ones too). */
  readonly failed: number;
  /** Jobs started and not yet ended (waiting for a retry included). */
  readonly inFlight: number;
  /** Jobs in all, when the input's length is known. */
  readonly total: number | undefined;
  /** Jobs ended per second so far. */
  readonly rate: number;
  /** Since the call started (ms). */
  readonly elapsedMs: number;
}

export const PROGRESS_INTERVAL_MS = 100;

export class ProgressMeter {
  readonly #report: (progress: Progress) => void;
  readonly #total: number | undefined;
  readonly #started = now();
  #last = 0;
  #done = 0;
  #failed = 0;

  constructor(report: (progress: Progress) => void, total: number | undefined) {
    this.#report = report;
    this.#total = total;
  }

  /** A job ended (or `jobs` of them, alike); reports if the interval has passed. */
  tick(ok: boolean, inFlight: number, jobs = 1): void {
    if (ok) this.#done += jobs;
    else this.#failed += jobs;
    const t = now();
    if (t - this.#last >= PROGRESS_INTERVAL_MS) this.#emit(t, inFlight);
  }

  /** The call ended: one last report. */
  final(): void {
    this.#emit(now(), 0);
  }

  #emit(t: number, inFlight: number): void {
    this.#last = t;
    const elapsedMs = t - this.#started;
    this.#report({
      done: this.#done,
      failed: this.#failed,
      inFlight,
      total: this.#total,
      rate: elapsedMs > 0 ? ((this.#done + this.#failed) * 1000) / elapsedMs : 0,
      elapsedMs,
    });
  }
}
