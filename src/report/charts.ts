import { binaryUnitOf, utcDay, utcText } from './format.js';
import { html, type SafeHtml } from './html.js';

/**
 * Small inline-SVG time charts: values over time on a zero-based y axis, each point with a
 * tooltip (`<title>`, no script), failed drills as red squares instead of dots. The geometry is a
 * pure function, tested on its own; the markup only draws it.
 */

export interface ChartPoint {
  /** Milliseconds since the epoch. */
  time: number;
  value: number;
  /** Drawn as a failure marker (a red square) instead of a dot. */
  failed?: boolean;
  /** Tooltip text. */
  label: string;
}

/** The frame every chart is drawn in (SVG user units = CSS pixels). */
export const FRAME = { width: 640, height: 240, left: 78, right: 24, top: 16, bottom: 46 } as const;
const PLOT = {
  x0: FRAME.left,
  x1: FRAME.width - FRAME.right,
  y0: FRAME.top,
  y1: FRAME.height - FRAME.bottom,
} as const;

export interface YAxis {
  /** The value at the top of the plot. */
  max: number;
  ticks: Array<{ value: number; label: string }>;
}

/** A step of 1, 2 or 5 × 10^k that divides `max` into about `count` intervals. */
export function niceStep(max: number, count = 4): number {
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  const nice = normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 5 ? 5 : 10;
  return nice * magnitude;
}

const trim = (n: number) => String(Number(n.toFixed(3)));

/** A zero-based axis over `[0, dataMax]` in round steps of `unit`, labelled `<n> <unitName>`. */
function niceAxis(dataMax: number, divisor: number, unitName: string): YAxis {
  const inUnit = dataMax > 0 ? dataMax / divisor : 1;
  const step = niceStep(inUnit);
  const top = Math.ceil(inUnit / step - 1e-9) * step;
  const ticks: YAxis['ticks'] = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push({ value: v * divisor, label: `${trim(v)} ${unitName}` });
  return { max: top * divisor, ticks };
}

/** Bytes in the binary unit of the largest value: 0, 2, 4, 6, 8 MiB. */
export function bytesAxis(dataMax: number): YAxis {
  const { unit, divisor } = binaryUnitOf(dataMax);
  return niceAxis(dataMax, divisor, unit);
}

/** Seconds, or minutes past ten minutes: 0, 5, 10, 15, 20 s. */
export function secondsAxis(dataMax: number): YAxis {
  return dataMax > 600 ? niceAxis(dataMax, 60, 'min') : niceAxis(dataMax, 1, 's');
}

export interface ChartGeometry {
  points: Array<{ x: number; y: number; failed: boolean; label: string }>;
  xTicks: Array<{ x: number; label: string; anchor: 'start' | 'middle' | 'end' }>;
  yTicks: Array<{ y: number; label: string }>;
}

/**
 * Where everything goes: time left to right across the plot (oldest at the left edge, newest at
 * the right; a single time in the middle), values bottom (0) to top (`axis.max`).
 */
export function chartGeometry(points: readonly ChartPoint[], axis: YAxis): ChartGeometry {
  const sorted = [...points].sort((a, b) => a.time - b.time);
  const t0 = sorted[0]?.time ?? 0;
  const t1 = sorted.at(-1)?.time ?? 0;
  const span = t1 - t0;
  const xOf = (t: number) => (span > 0 ? PLOT.x0 + ((t - t0) / span) * (PLOT.x1 - PLOT.x0) : (PLOT.x0 + PLOT.x1) / 2);
  const yOf = (v: number) => PLOT.y1 - (axis.max > 0 ? Math.min(v, axis.max) / axis.max : 0) * (PLOT.y1 - PLOT.y0);
  const round = (n: number) => Math.round(n * 10) / 10;
  // Times on the x axis: to the minute over less than two days, else the day.
  const timeLabel = (t: number) => (span < 2 * 86_400_000 ? utcText(new Date(t)) : utcDay(new Date(t)));
  const xTicks: ChartGeometry['xTicks'] =
    sorted.length === 0
      ? []
      : span === 0
        ? [{ x: round(xOf(t0)), label: timeLabel(t0), anchor: 'middle' }]
        : [
            { x: round(xOf(t0)), label: timeLabel(t0), anchor: 'start' },
            { x: round(xOf(t0 + span / 2)), label: timeLabel(t0 + span / 2), anchor: 'middle' },
            { x: round(xOf(t1)), label: timeLabel(t1), anchor: 'end' },
          ];
  return {
    points: sorted.map((p) => ({ x: round(xOf(p.time)), y: round(yOf(p.value)), failed: !!p.failed, label: p.label })),
    xTicks,
    yTicks: axis.ticks.map((t) => ({ y: round(yOf(t.value)), label: t.label })),
  };
}

export interface ChartSpec {
  /** Element id, for links and tests. */
  id: string;
  title: string;
  yTitle: string;
  points: readonly ChartPoint[];
  axis: YAxis;
}

/** One chart as inline SVG; `data-points` / `data-failed` say what it draws. */
export function renderChart(spec: ChartSpec): SafeHtml {
  const g = chartGeometry(spec.points, spec.axis);
  const failed = g.points.filter((p) => p.failed).length;
  const line =
    g.points.length > 1
      ? html`<polyline class="line" points="${g.points.map((p) => `${p.x},${p.y}`).join(' ')}"/>`
      : '';
  const markers = g.points.map((p) =>
    p.failed
      ? html`<rect class="marker failed" x="${p.x - 5}" y="${p.y - 5}" width="10" height="10">
<title>${p.label}</title></rect>`
      : html`<circle class="marker" cx="${p.x}" cy="${p.y}" r="4"><title>${p.label}</title></circle>`,
  );
  const midY = (PLOT.y0 + PLOT.y1) / 2;
  const yTicks = g.yTicks.map(
    (t) => html`<line class="grid" x1="${PLOT.x0}" y1="${t.y}" x2="${PLOT.x1}" y2="${t.y}"/>
<text class="tick" x="${PLOT.x0 - 6}" y="${t.y + 4}" text-anchor="end">${t.label}</text>`,
  );
  const xTicks = g.xTicks.map(
    (t) => html`<line class="axis" x1="${t.x}" y1="${PLOT.y1}" x2="${t.x}" y2="${PLOT.y1 + 4}"/>
<text class="tick" x="${t.x}" y="${PLOT.y1 + 17}" text-anchor="${t.anchor}">${t.label}</text>`,
  );
  return html`<svg xmlns="http://www.w3.org/2000/svg" id="${spec.id}" class="chart"
 viewBox="0 0 ${FRAME.width} ${FRAME.height}" width="${FRAME.width}" height="${FRAME.height}"
 role="img" aria-label="${spec.title}" data-points="${g.points.length}" data-failed="${failed}">
<title>${spec.title}</title>
${yTicks}
<line class="axis" x1="${PLOT.x0}" y1="${PLOT.y1}" x2="${PLOT.x1}" y2="${PLOT.y1}"/>
<line class="axis" x1="${PLOT.x0}" y1="${PLOT.y0}" x2="${PLOT.x0}" y2="${PLOT.y1}"/>
${xTicks}
<text class="axis-title" x="${(PLOT.x0 + PLOT.x1) / 2}" y="${FRAME.height - 6}" text-anchor="middle">time (UTC)</text>
<text class="axis-title" x="14" y="${midY}" text-anchor="middle"
 transform="rotate(-90 14 ${midY})">${spec.yTitle}</text>
${line}
${markers}
</svg>`;
}
