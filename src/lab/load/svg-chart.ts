// A dependency-free SVG report: line panels stacked one above the other, each with its own axes,
// legend and scale (linear, or logarithmic where values span orders of magnitude, like latency).

export interface LineSeries {
  name: string;
  points: { x: number; y: number }[];
  /** Drawn thicker: a total over the other series. */
  emphasis?: boolean;
}

export interface LinePanel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** A log10 y axis (values <= 0 are left out). */
  logY?: boolean;
}

const COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];
const WIDTH = 960;
const PANEL = 260;
const MARGIN = { left: 75, right: 170, top: 40, bottom: 50 };
const PANEL_HEIGHT = MARGIN.top + PANEL + MARGIN.bottom;

export function renderChartSvg(title: string, panels: LinePanel[]): string {
  const height = 30 + panels.length * PANEL_HEIGHT;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="16">${escapeXml(title)}</text>`,
    ...panels.map((panel, i) => linePanel(panel, 30 + i * PANEL_HEIGHT + MARGIN.top)),
    '</svg>',
  ];
  return parts.join('\n');
}

function linePanel(panel: LinePanel, top: number): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const series = panel.series.map((s) => ({ ...s, points: panel.logY ? s.points.filter((p) => p.y > 0) : s.points }));
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(1, ...all.map((p) => p.x));
  const scale = panel.logY ? logScale(all.map((p) => p.y)) : linearScale(Math.max(1, ...all.map((p) => p.y)));
  const sx = (x: number) => MARGIN.left + (x / maxX) * plotWidth;
  const sy = (y: number) => top + PANEL - scale.position(y) * PANEL;
  const out = [
    `<g class="panel" data-title="${escapeXml(panel.title)}">`,
    axes(
      panel,
      top,
      scale.ticks.map((t) => ({ at: sy(t), label: format(t) })),
    ),
  ];
  for (let i = 0; i <= 4; i++) {
    const x = (maxX * i) / 4;
    out.push(`<text x="${sx(x).toFixed(1)}" y="${top + PANEL + 15}" text-anchor="middle">${format(x)}</text>`);
  }
  series.forEach((s, i) => {
    const color = s.emphasis ? '#000000' : COLORS[i % COLORS.length];
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    if (d)
      out.push(
        `<path d="${d}" fill="none" stroke="${color}" stroke-width="${s.emphasis ? 2.5 : 1.5}" data-series="${escapeXml(s.name)}"/>`,
      );
    out.push(`<rect x="${WIDTH - MARGIN.right + 15}" y="${top + i * 18}" width="12" height="12" fill="${color}"/>`);
    out.push(`<text x="${WIDTH - MARGIN.right + 32}" y="${top + i * 18 + 10}">${escapeXml(s.name)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

interface Scale {
  /** 0 at the bottom of the panel, 1 at its top. */
  position(y: number): number;
  ticks: number[];
}

function linearScale(max: number): Scale {
  const top = niceMax(max);
  return { position: (y) => y / top, ticks: [0, 1, 2, 3, 4].map((i) => (top * i) / 4) };
}

function logScale(values: number[]): Scale {
  const positive = values.filter((v) => v > 0);
  const low = Math.floor(Math.log10(Math.min(1, ...positive)));
  const high = Math.max(low + 1, Math.ceil(Math.log10(Math.max(10, ...positive))));
  const ticks = [];
  for (let e = low; e <= high; e++) ticks.push(10 ** e);
  return { position: (y) => (Math.log10(y) - low) / (high - low), ticks };
}

function axes(panel: LinePanel, top: number, ticks: { at: number; label: string }[]): string {
  const right = WIDTH - MARGIN.right;
  const out = [
    `<text x="${MARGIN.left}" y="${top - 8}" font-size="13">${escapeXml(panel.title)}</text>`,
    `<line x1="${MARGIN.left}" y1="${top + PANEL}" x2="${right}" y2="${top + PANEL}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" y1="${top}" x2="${MARGIN.left}" y2="${top + PANEL}" stroke="black"/>`,
    `<text x="${(MARGIN.left + right) / 2}" y="${top + PANEL + 35}" text-anchor="middle">${escapeXml(panel.xLabel)}</text>`,
    `<text x="15" y="${top + PANEL / 2}" transform="rotate(-90 15 ${top + PANEL / 2})" text-anchor="middle">${escapeXml(panel.yLabel)}</text>`,
  ];
  for (const tick of ticks) {
    out.push(
      `<line x1="${MARGIN.left}" y1="${tick.at.toFixed(1)}" x2="${right}" y2="${tick.at.toFixed(1)}" stroke="#ddd"/>`,
    );
    out.push(`<text x="${MARGIN.left - 5}" y="${(tick.at + 4).toFixed(1)}" text-anchor="end">${tick.label}</text>`);
  }
  return out.join('\n');
}

function niceMax(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function format(value: number): string {
  if (value >= 1_000_000) return `${(value / 1_000_000).toFixed(1)}M`;
  if (value >= 10_000) return `${Math.round(value / 1000)}k`;
  if (value > 0 && value < 1) return String(Number(value.toPrecision(2)));
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
