// The suite's results as text: a table for the terminal, a Markdown report, and the
// files (JSON, Markdown, charts) written to the results folder.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { renderCharts } from './chart.js';
import type { Row, SuiteResult } from './suite.js';

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const x = (v: number | undefined) => (v === undefined ? '' : `${v.toFixed(2)}x`);
const pct = (v: number | undefined) => (v === undefined ? '' : `${(v * 100).toFixed(0)}%`);
const us = (v: number | undefined) => (v === undefined ? '' : v.toFixed(v < 10 ? 2 : 1));

const COLUMNS = [
  'case',
  'items',
  'contender',
  'median ms',
  'p25–p75 ms',
  '±rme',
  'speedup',
  'efficiency',
  'overhead µs/item',
] as const;

/** One row's cells, in the order of COLUMNS. */
function cells(row: Row): string[] {
  const head = [row.label, row.items.toLocaleString('en-US'), row.contender];
  if (row.state !== 'ok' || !row.timing) {
    const what = row.state === 'skipped' ? 'skipped' : `FAILED (${row.error?.code ?? 'error'})`;
    return [...head, what, '', '', '', '', ''];
  }
  const t = row.timing;
  const seq = row.contender === 'sequential';
  return [
    ...head,
    ms(t.medianMs),
    `${ms(t.p25Ms)}–${ms(t.p75Ms)}`,
    `${t.rmePercent.toFixed(1)}%`,
    x(row.speedup),
    seq ? '' : pct(row.efficiency),
    seq ? '' : us(row.overheadUsPerItem),
  ];
}

const NUMERIC = new Set<string>(['items', 'median ms', '±rme', 'speedup', 'efficiency']);

/** A plain-text table, columns padded, numbers right-aligned. */
export function textTable(headers: readonly string[], body: readonly string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]) =>
    r
      .map((c, i) =>
        NUMERIC.has(headers[i] ?? '') || /µs|ms$/.test(headers[i] ?? '')
          ? c.padStart(widths[i]!)
          : c.padEnd(widths[i]!),
      )
      .join('  ')
      .trimEnd();
  return [fmt(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}

function markdownTable(headers: readonly string[], body: readonly string[][]): string {
  const line = (r: readonly string[]) =>
    `| ${r.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  const align = headers.map((h, i) =>
    i === 0 || h === 'contender' || h === 'peer' ? ':--' : '--:',
  );
  return [line(headers), `|${align.join('|')}|`, ...body.map(line)].join('\n');
}

/** The results table for a terminal. */
export function formatTable(result: SuiteResult): string {
  return textTable(COLUMNS, result.rows.map(cells));
}

const SCALING_COLUMNS = ['threads', 'median ms', 'p25–p75 ms', 'speedup', 'efficiency'];

function scalingCells(result: SuiteResult): string[][] {
  return (result.scaling?.points ?? []).map((p) => [
    String(p.threads),
    p.timing ? ms(p.timing.medianMs) : `${p.state.toUpperCase()} (${p.error?.code ?? ''})`,
    p.timing ? `${ms(p.timing.p25Ms)}–${ms(p.timing.p75Ms)}` : '',
    x(p.speedup),
    pct(p.efficiency),
  ]);
}

/** The scaling sweep's table for a terminal ('' when there was no sweep). */
export function formatScaling(result: SuiteResult): string {
  return result.scaling ? textTable(SCALING_COLUMNS, scalingCells(result)) : '';
}

/** Median time of one contender on one case, when it succeeded. */
function medianOf(result: SuiteResult, id: string, contender: string): number | undefined {
  const row = result.rows.find((r) => r.case === id && r.contender === contender);
  return row?.state === 'ok' ? row.timing?.medianMs : undefined;
}

function rowOf(result: SuiteResult, id: string, contender: string): Row | undefined {
  return result.rows.find((r) => r.case === id && r.contender === contender && r.state === 'ok');
}

/**
 * For each peer, how many times longer it took than fanout on the same cases: the
 * geometric mean of (peer median / fanout median), over every case and over spin only.
 */
export function versusPeers(
  result: SuiteResult,
): { peer: string; all: number | undefined; spin: number | undefined; cases: number }[] {
  const peers = result.options.contenders.filter((c) => c !== 'fanout');
  const ids = [...new Set(result.rows.map((r) => r.case))];
  return peers.map((peer) => {
    const ratios: { spin: boolean; r: number }[] = [];
    for (const id of ids) {
      const f = medianOf(result, id, 'fanout');
      const p = medianOf(result, id, peer);
      if (f !== undefined && p !== undefined)
        ratios.push({ spin: id.startsWith('spin/'), r: p / f });
    }
    const geo = (rs: number[]) =>
      rs.length === 0 ? undefined : Math.exp(rs.reduce((s, r) => s + Math.log(r), 0) / rs.length);
    return {
      peer,
      all: geo(ratios.map((q) => q.r)),
      spin: geo(ratios.filter((q) => q.spin).map((q) => q.r)),
      cases: ratios.length,
    };
  });
}

/** Issue 3's targets: the spin rows, sequential against raw Piscina against fanout. */
function spinTargets(result: SuiteResult): string[][] {
  const ids = [...new Set(result.rows.filter((r) => r.workload === 'spin').map((r) => r.case))];
  return ids.map((id) => {
    const seq = rowOf(result, id, 'sequential');
    const pis = rowOf(result, id, 'piscina');
    const fan = rowOf(result, id, 'fanout');
    const label = result.rows.find((r) => r.case === id)?.label ?? id;
    const t = (r: Row | undefined) => (r?.timing ? ms(r.timing.medianMs) : '—');
    const ratio =
      pis?.timing && fan?.timing
        ? `${(pis.timing.medianMs / fan.timing.medianMs).toFixed(2)}x`
        : '—';
    return [
      label,
      t(seq),
      t(pis),
      t(fan),
      x(pis?.speedup) || '—',
      x(fan?.speedup) || '—',
      ratio,
      us(pis?.overheadUsPerItem) || '—',
      us(fan?.overheadUsPerItem) || '—',
    ];
  });
}

export function toMarkdown(result: SuiteResult, charts: readonly string[] = []): string {
  const out: string[] = [];
  const { options } = result;
  out.push('# fanout benchmarks', '');
  out.push(`- machine: ${result.machine.description}`);
  out.push(
    `- started ${result.startedAt}, took ${(result.durationMs / 1000).toFixed(0)} s${options.quick ? ' (quick)' : ''}`,
  );
  out.push(
    `- parallel contenders on ${options.threads} threads; each row: a checking run, up to ${options.measure.warmupIterations} warm-up runs (at most about ${options.measure.timeMs} ms of them, none after a checking run longer than that), then ${options.measure.minIterations}–${options.measure.maxIterations} measured runs adding up to about ${options.measure.timeMs} ms`,
  );
  out.push(
    `- spin kernel: ${result.spinIterationsPerMs.toLocaleString('en-US')} iterations per ms on the main thread`,
  );
  if (result.failures > 0) out.push(`- **${result.failures} row(s) failed** (see below)`);
  out.push('');
  out.push(
    'speedup = sequential median / contender median; efficiency = speedup / threads; overhead = (median − sequential median / threads) / items: what each item cost beyond its share of the work.',
    '',
  );
  out.push('## Results', '', markdownTable(COLUMNS, result.rows.map(cells)), '');

  const spin = spinTargets(result);
  if (spin.length > 0) {
    out.push(
      '## Spin kernel: sequential, raw Piscina (one task per item), fanout (map, automatic chunks)',
      '',
      markdownTable(
        [
          'item cost',
          'sequential ms',
          'piscina ms',
          'fanout ms',
          'piscina speedup',
          'fanout speedup',
          'fanout vs piscina',
          'piscina overhead µs/item',
          'fanout overhead µs/item',
        ],
        spin,
      ),
      '',
      '"fanout vs piscina" is piscina median / fanout median: above 1, fanout is faster.',
      '',
    );
  }

  const peers = versusPeers(result).filter((p) => p.cases > 0);
  if (peers.length > 0) {
    out.push(
      '## fanout against each peer',
      '',
      'Geometric mean of (peer median / fanout median) over the cases both finished: above 1, fanout is faster.',
      '',
      markdownTable(
        ['peer', 'all cases', 'spin rows', 'cases'],
        peers.map((p) => [p.peer, x(p.all) || '—', x(p.spin) || '—', String(p.cases)]),
      ),
      '',
    );
  }

  if (result.scaling) {
    const s = result.scaling;
    out.push(
      `## Scaling: ${s.contender} on 1..${options.threads} threads`,
      '',
      `${s.items} items of ${s.label}; sequential median ${s.sequential ? ms(s.sequential.medianMs) : '—'} ms.`,
      '',
      markdownTable(SCALING_COLUMNS, scalingCells(result)),
      '',
    );
  }

  const failed = result.rows.filter((r) => r.state !== 'ok');
  if (failed.length > 0) {
    out.push('## Failed and skipped rows', '');
    for (const r of failed) {
      out.push(`- ${r.label}, ${r.contender}: ${r.state} — ${r.error?.message ?? ''}`);
    }
    out.push('');
  }
  for (const chart of charts) out.push(`![${chart}](${chart})`, '');
  return out.join('\n');
}

export interface WrittenResults {
  readonly json: string;
  readonly markdown: string;
  /** The charts written; empty when the plotting library is not installed. */
  readonly charts: readonly string[];
  /** Why no chart was drawn, if none was. */
  readonly chartError: string | undefined;
}

/** Writes results.json, results.md and the charts (SVG) to `dir`. */
export async function writeResults(
  result: SuiteResult,
  dir: string,
  options: { readonly charts?: boolean } = {},
): Promise<WrittenResults> {
  const out = resolve(dir);
  await mkdir(out, { recursive: true });
  let charts: string[] = [];
  let chartError: string | undefined;
  if (options.charts ?? true) {
    try {
      const svgs = await renderCharts(result);
      for (const [name, svg] of Object.entries(svgs)) {
        await writeFile(join(out, name), svg);
        charts.push(name);
      }
    } catch (error) {
      charts = [];
      chartError = error instanceof Error ? error.message : String(error);
    }
  }
  const json = join(out, 'results.json');
  const markdown = join(out, 'results.md');
  await writeFile(json, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(markdown, toMarkdown(result, charts));
  return { json, markdown, charts: charts.map((c) => join(out, c)), chartError };
}
