// A dependency-free SVG report: a line chart (throughput per branch over time) above a bar chart
// (latency distribution, or whatever bars are given). Enough for a person to see the shape.

export interface LineSeries {
  name: string;
  points: { x: number; y: number }[];
}

export interface Bar {
  label: string;
  value: number;
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const WIDTH = 900;
const PANEL = 300;
const MARGIN = { left: 70, right: 150, top: 40, bottom: 45 };

export function renderChartSvg(title: string, lines: { title: string; xLabel: string; yLabel: string; series: LineSeries[] }, bars?: { title: string; yLabel: string; bars: Bar[] }): string {
  const height = MARGIN.top + PANEL + MARGIN.bottom + (bars ? PANEL + MARGIN.top + MARGIN.bottom : 0);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="16">${escape(title)}</text>`,
    linePanel(lines, MARGIN.top),
  ];
  if (bars) parts.push(barPanel(bars, MARGIN.top + PANEL + MARGIN.bottom + MARGIN.top));
  parts.push('</svg>');
  return parts.join('\n');
}

function linePanel(panel: { title: string; xLabel: string; yLabel: string; series: LineSeries[] }, top: number): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const all = panel.series.flatMap((s) => s.points);
  const maxX = Math.max(1, ...all.map((p) => p.x));
  const maxY = niceMax(Math.max(1, ...all.map((p) => p.y)));
  const sx = (x: number) => MARGIN.left + (x / maxX) * plotWidth;
  const sy = (y: number) => top + PANEL - (y / maxY) * PANEL;
  const out = [axes(panel.title, panel.xLabel, panel.yLabel, top, maxY)];
  for (let i = 0; i <= 4; i++) {
    const x = (maxX * i) / 4;
    out.push(`<text x="${sx(x)}" y="${top + PANEL + 15}" text-anchor="middle">${format(x)}</text>`);
  }
  panel.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length];
    const d = series.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    out.push(`<rect x="${WIDTH - MARGIN.right + 15}" y="${top + i * 18}" width="12" height="12" fill="${color}"/>`);
    out.push(`<text x="${WIDTH - MARGIN.right + 32}" y="${top + i * 18 + 10}">${escape(series.name)}</text>`);
  });
  return out.join('\n');
}

function barPanel(panel: { title: string; yLabel: string; bars: Bar[] }, top: number): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const maxY = niceMax(Math.max(1, ...panel.bars.map((b) => b.value)));
  const slot = plotWidth / Math.max(1, panel.bars.length);
  const out = [axes(panel.title, '', panel.yLabel, top, maxY)];
  panel.bars.forEach((bar, i) => {
    const h = (bar.value / maxY) * PANEL;
    const x = MARGIN.left + i * slot + slot * 0.1;
    out.push(`<rect x="${x.toFixed(1)}" y="${(top + PANEL - h).toFixed(1)}" width="${(slot * 0.8).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[0]}"/>`);
    out.push(`<text x="${(x + slot * 0.4).toFixed(1)}" y="${top + PANEL + 15}" text-anchor="middle" font-size="10">${escape(bar.label)}</text>`);
  });
  return out.join('\n');
}

function axes(title: string, xLabel: string, yLabel: string, top: number, maxY: number): string {
  const right = WIDTH - MARGIN.right;
  const out = [
    `<text x="${MARGIN.left}" y="${top - 8}" font-size="13">${escape(title)}</text>`,
    `<line x1="${MARGIN.left}" y1="${top + PANEL}" x2="${right}" y2="${top + PANEL}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" y1="${top}" x2="${MARGIN.left}" y2="${top + PANEL}" stroke="black"/>`,
    `<text x="${(MARGIN.left + right) / 2}" y="${top + PANEL + 35}" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text x="15" y="${top + PANEL / 2}" transform="rotate(-90 15 ${top + PANEL / 2})" text-anchor="middle">${escape(yLabel)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const y = top + PANEL - (PANEL * i) / 4;
    out.push(`<line x1="${MARGIN.left}" y1="${y}" x2="${right}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${MARGIN.left - 5}" y="${y + 4}" text-anchor="end">${format((maxY * i) / 4)}</text>`);
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
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
