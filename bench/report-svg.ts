// The results as a small hand-written SVG: one panel per N, a group of bars
// per latency, one bar per contender (fixed colours), log-scale time axis,
// extrapolated bars hatched. No dependencies, readable on GitHub.
import type { Contender } from './contenders/contender';
import { type Environment, machine, shortPostgres } from './environment';
import type { Measurement, RunResults } from './runner';

const COLOURS: Record<string, string> = {
  'plain-knex': '#8c8c8c',
  'knex-batchinsert': '#4e79a7',
  objection: '#f28e2b',
  'pg-promise': '#76b7b2',
  'knex-batch-inserts': '#e15759',
  copy: '#59a14f',
};

const BAR = 13;
const GROUP_GAP = 22;
const PLOT_HEIGHT = 240;
const AXIS_WIDTH = 58;
const PANEL_GAP = 30;
const TOP = 92;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

export function svgChart({ measurements, roundTripMs }: RunResults, env: Environment): string {
  const contenders = unique(measurements.map((m) => m.contender));
  const sizes = unique(measurements.map((m) => m.n));
  const latencies = unique(measurements.map((m) => m.latencyMs));
  const panelWidth = AXIS_WIDTH + latencies.length * (contenders.length * BAR + GROUP_GAP);
  const legendItems = legend(contenders, 20, 60);
  const width = Math.ceil(Math.max(legendItems.width + 20, 20 + sizes.length * (panelWidth + PANEL_GAP)));
  const height = TOP + PLOT_HEIGHT + 58;
  const panels = sizes.map((n, i) =>
    panel(
      measurements.filter((m) => m.n === n),
      contenders,
      latencies,
      20 + i * (panelWidth + PANEL_GAP),
      n,
      roundTripMs,
    ),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="11">
<defs>${[...contenders, { id: 'legend' }].map(hatch).join('')}</defs>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="22" font-size="15" font-weight="600">Time to insert N parents + N children in one transaction (log scale, lower is better)</text>
<text x="20" y="40" fill="#555">${escape(`${env.date.slice(0, 10)} · ${machine(env)} · Node ${env.node} · ${shortPostgres(env)}`)}${env.embedded ? ' · NOT REPRESENTATIVE' : ''}</text>
${legendItems.svg}
${panels.join('\n')}
</svg>
`;
}

function panel(measurements: Measurement[], contenders: Contender[], latencies: number[], left: number, n: number, roundTripMs: Map<number, number>): string {
  const times = measurements.map((m) => m.medianMs);
  const low = 10 ** Math.floor(Math.log10(Math.min(...times)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...times)));
  const decades = Math.max(1, Math.round(Math.log10(high / low)));
  const y = (ms: number) => TOP + PLOT_HEIGHT - (Math.log10(ms / low) / decades) * PLOT_HEIGHT;
  const plotLeft = left + AXIS_WIDTH;
  const groupWidth = contenders.length * BAR + GROUP_GAP;
  const parts: string[] = [];
  for (let d = 0; d <= decades; d++) {
    const ms = low * 10 ** d;
    parts.push(
      `<line x1="${plotLeft - 4}" x2="${plotLeft + latencies.length * groupWidth}" y1="${y(ms)}" y2="${y(ms)}" stroke="#ddd"/>`,
      `<text x="${plotLeft - 7}" y="${y(ms) + 4}" text-anchor="end" fill="#444">${tickLabel(ms)}</text>`,
    );
  }
  for (const [g, latencyMs] of latencies.entries()) {
    const groupLeft = plotLeft + g * groupWidth + GROUP_GAP / 2;
    for (const [c, contender] of contenders.entries()) {
      const m = measurements.find((x) => x.latencyMs === latencyMs && x.contender === contender);
      if (m) parts.push(bar(m, groupLeft + c * BAR, y(m.medianMs), TOP + PLOT_HEIGHT));
    }
    const measured = roundTripMs.get(latencyMs);
    parts.push(
      `<text x="${groupLeft + (contenders.length * BAR) / 2}" y="${TOP + PLOT_HEIGHT + 15}" text-anchor="middle">${latencyMs} ms${measured === undefined ? '' : ` (${measured.toFixed(1)})`}</text>`,
    );
  }
  const plotRight = plotLeft + latencies.length * groupWidth;
  parts.push(
    `<line x1="${plotLeft}" x2="${plotLeft}" y1="${TOP - 4}" y2="${TOP + PLOT_HEIGHT}" stroke="#888"/>`,
    `<line x1="${plotLeft}" x2="${plotRight}" y1="${TOP + PLOT_HEIGHT}" y2="${TOP + PLOT_HEIGHT}" stroke="#888"/>`,
    `<text x="${(plotLeft + plotRight) / 2}" y="${TOP + PLOT_HEIGHT + 32}" text-anchor="middle" fill="#555">added latency (select 1 measured)</text>`,
    `<text x="${(plotLeft + plotRight) / 2}" y="${TOP + PLOT_HEIGHT + 50}" text-anchor="middle" font-size="13" font-weight="600">N = ${n.toLocaleString('en-US')}</text>`,
  );
  return `<g>${parts.join('')}</g>`;
}

/** A bar from the axis up to the median; an extrapolated one hatched, with its value in a tooltip either way. */
function bar(m: Measurement, x: number, top: number, bottom: number): string {
  const colour = COLOURS[m.contender.id] ?? '#333';
  const fill = m.extrapolated ? `url(#hatch-${m.contender.id})` : colour;
  const title = `${m.contender.name}, N=${m.n}, ${m.latencyMs} ms: ${(m.medianMs / 1000).toPrecision(3)} s${m.extrapolated ? ' (extrapolated)' : ''}`;
  return `<rect x="${x + 1}" y="${top.toFixed(1)}" width="${BAR - 2}" height="${Math.max(1, bottom - top).toFixed(1)}" fill="${fill}" stroke="${colour}"><title>${escape(title)}</title></rect>`;
}

function legend(contenders: Contender[], left: number, top: number): { svg: string; width: number } {
  let x = left;
  const items: string[] = [];
  const item = (fill: string, stroke: string, label: string) => {
    items.push(`<rect x="${x}" y="${top}" width="11" height="11" fill="${fill}" stroke="${stroke}"/><text x="${x + 15}" y="${top + 10}">${escape(label)}</text>`);
    x += 26 + label.length * 6.2;
  };
  for (const contender of contenders) item(COLOURS[contender.id] ?? '#333', COLOURS[contender.id] ?? '#333', contender.name);
  item('url(#hatch-legend)', '#555', 'extrapolated from a sample');
  return { svg: items.join(''), width: x - left };
}

/** Diagonal stripes in the contender's colour, for its extrapolated bars. */
function hatch(contender: Contender | { id: string }): string {
  const colour = COLOURS[contender.id] ?? '#555';
  return `<pattern id="hatch-${contender.id}" patternUnits="userSpaceOnUse" width="5" height="5" patternTransform="rotate(45)"><rect width="5" height="5" fill="#fff"/><rect width="2.5" height="5" fill="${colour}"/></pattern>`;
}

function tickLabel(ms: number): string {
  if (ms < 1) return `${ms} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toLocaleString('en-US')} s`;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
