// The suite's charts, specified in Vega-Lite and rendered to SVG by Vega headless (no
// browser, no canvas): speedup by item cost, one line per contender, under the
// core-count ceiling; and fanout's speedup against its thread count.
import type { TopLevelSpec } from 'vega-lite';
import { SPIN_ORDER, spinLabel } from './cases.js';
import type { SuiteResult } from './suite.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const FONT = { font: 'Helvetica, Arial, sans-serif' };

/** Speedup over the sequential loop by the cost of one spin item, one line per contender. */
export function speedupSpec(result: SuiteResult): TopLevelSpec {
  const order = SPIN_ORDER.map(spinLabel);
  const baseline = new Map(
    result.rows
      .filter((r) => r.contender === 'sequential' && r.timing)
      .map((r) => [r.case, r.timing!.medianMs]),
  );
  const points = result.rows
    .filter((r) => r.workload === 'spin' && r.contender !== 'sequential' && r.state === 'ok')
    .map((r) => {
      const seq = baseline.get(r.case) ?? Number.NaN;
      return {
        item: spinLabel(r.size as (typeof SPIN_ORDER)[number]),
        contender: r.contender,
        speedup: r.speedup,
        // The spread of the timed runs (p75 to p25), as speedups.
        low: seq / r.timing!.p75Ms,
        high: seq / r.timing!.p25Ms,
      };
    });
  const ceiling = result.options.threads;
  return {
    $schema: SCHEMA,
    title: {
      text: 'Speedup over a sequential loop, by the cost of one item',
      subtitle: `spin kernel · ${result.machine.description}`,
    },
    width: 620,
    height: 360,
    config: FONT,
    layer: [
      {
        data: { values: [{ y: ceiling, label: `ceiling: ${ceiling} threads` }] },
        layer: [
          { mark: { type: 'rule', strokeDash: [6, 4], color: '#444' } },
          {
            mark: { type: 'text', align: 'right', dy: -7, x: 'width', color: '#444' },
            encoding: { text: { field: 'label' } },
          },
        ],
        encoding: { y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: [{ y: 1, label: 'sequential loop (1x)' }] },
        layer: [
          { mark: { type: 'rule', color: '#999' } },
          {
            mark: { type: 'text', align: 'left', dy: -7, x: 5, color: '#777' },
            encoding: { text: { field: 'label' } },
          },
        ],
        encoding: { y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: points },
        encoding: {
          x: {
            field: 'item',
            type: 'ordinal',
            sort: order,
            scale: { domain: order },
            title: 'cost of one item (whiskers: p25–p75 of the timed runs)',
            axis: { labelAngle: 0, labelExpr: "split(datum.label, ' (')[0]" },
          },
          color: {
            field: 'contender',
            type: 'nominal',
            title: 'contender',
            legend: { symbolOpacity: 1 },
          },
        },
        layer: [
          {
            mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.6 },
            encoding: {
              y: { field: 'low', type: 'quantitative' },
              y2: { field: 'high' },
            },
          },
          {
            mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
            encoding: {
              y: {
                field: 'speedup',
                type: 'quantitative',
                scale: { type: 'log' },
                title: 'speedup (x, log scale)',
              },
              tooltip: [
                { field: 'contender' },
                { field: 'item' },
                { field: 'speedup', format: '.2f' },
              ],
            },
          },
        ],
      },
    ],
  };
}

/** fanout's speedup on 1..N threads, the ideal line y = x, and the core count. */
export function scalingSpec(result: SuiteResult): TopLevelSpec | undefined {
  const s = result.scaling;
  if (!s) return undefined;
  const points = s.points
    .filter((p) => p.state === 'ok')
    .map((p) => ({ threads: p.threads, speedup: p.speedup }));
  const steps = s.points.map((p) => p.threads);
  const top = Math.max(...steps);
  const cores = result.machine.cores;
  return {
    $schema: SCHEMA,
    title: {
      text: `Scaling: ${s.contender} on 1..${top} threads`,
      subtitle: `${s.items} items of ${s.label} · ${result.machine.description}`,
    },
    width: 420,
    height: 320,
    config: FONT,
    layer: [
      {
        data: {
          values: [
            { threads: 1, speedup: 1 },
            { threads: top, speedup: top },
          ],
        },
        mark: { type: 'line', strokeDash: [4, 4], color: '#999' },
        encoding: {
          x: { field: 'threads', type: 'quantitative' },
          y: { field: 'speedup', type: 'quantitative' },
        },
      },
      {
        data: { values: [{ y: cores, label: `${cores} cores` }] },
        layer: [
          { mark: { type: 'rule', strokeDash: [6, 4], color: '#444' } },
          {
            mark: { type: 'text', align: 'left', dy: -7, x: 5, color: '#444' },
            encoding: { text: { field: 'label' } },
          },
        ],
        encoding: { y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: points },
        mark: { type: 'line', point: { size: 60 }, strokeWidth: 2, color: '#4c78a8' },
        encoding: {
          x: {
            field: 'threads',
            type: 'quantitative',
            title: 'threads',
            scale: { domain: [1, top], nice: false },
            axis: { values: steps, format: 'd' },
          },
          y: {
            field: 'speedup',
            type: 'quantitative',
            title: 'speedup over the sequential loop (x)',
            scale: { domainMin: 0 },
          },
          tooltip: [{ field: 'threads' }, { field: 'speedup', format: '.2f' }],
        },
      },
    ],
  };
}

/** Compiles a Vega-Lite spec and renders it to SVG, headless. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vl, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Every chart of a result, by file name. Rejects when vega or vega-lite is missing. */
export async function renderCharts(result: SuiteResult): Promise<Record<string, string>> {
  const charts: Record<string, string> = {};
  if (result.rows.some((r) => r.workload === 'spin' && r.state === 'ok')) {
    charts['speedup.svg'] = await renderSvg(speedupSpec(result));
  }
  const scaling = scalingSpec(result);
  if (scaling) charts['scaling.svg'] = await renderSvg(scaling);
  return charts;
}
