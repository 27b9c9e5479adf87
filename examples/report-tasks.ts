// The work behind examples/report.ts: four CPU-bound extractions of a similar size (each a
// stand-in built on one of fanout's built-in workloads) and the report built from them.
// A task module: every export runs in a worker, or on the main thread for the baseline.
import { countPrimes, jsonTransform, sha256, sortNumbers } from '../workers/workloads.js';

/** What each source hands to the report. */
export interface SourceSummary {
  readonly source: string;
  readonly figure: string;
}

/** Orders: generate, serialise, parse and aggregate the week's order records by region. */
export function orders(week: number): SourceSummary {
  const groups = JSON.parse(jsonTransform({ count: 15_000, seed: week })) as {
    activeCount: number;
  }[];
  const active = groups.reduce((n, g) => n + g.activeCount, 0);
  return { source: 'orders', figure: `${active} active orders in ${groups.length} regions` };
}

/** Payments: checksum the week's settlement file (24 MiB, generated). */
export function payments(week: number): SourceSummary {
  const digest = sha256({ bytes: 24 << 20, seed: week });
  return { source: 'payments', figure: `settlement file sha256 ${digest.slice(0, 16)}…` };
}

/** Inventory: sort 800k stock movements and fold them into an order checksum. */
export function inventory(week: number): SourceSummary {
  const checksum = sortNumbers({ count: 800_000, seed: week });
  return { source: 'inventory', figure: `movement checksum ${checksum.toFixed(0)}` };
}

/** Traffic: a stand-in scan over 16 million page-view ids (counts the prime ones). */
export function traffic(week: number): SourceSummary {
  const from = week * 1_000_000;
  const count = countPrimes({ from, to: from + 16_000_000 });
  return { source: 'traffic', figure: `${count} flagged page views` };
}

/** Builds the report from the four summaries. */
export function buildReport({
  week,
  parts,
}: {
  week: number;
  parts: readonly SourceSummary[];
}): string {
  return [`Weekly report, week ${week}`, ...parts.map((p) => `  ${p.source}: ${p.figure}`)].join(
    '\n',
  );
}
