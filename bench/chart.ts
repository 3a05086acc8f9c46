/** A small hand-written SVG: one horizontal bar panel per section, no dependencies. */
export interface BarSection {
  title: string;
  unit: string;
  bars: Array<{ label: string; value: number }>;
}

const WIDTH = 900;
const LABEL_W = 330;
const BAR_H = 18;
const GAP = 6;
const PALETTE = ['#3b6fb6', '#e07b39', '#4aa564', '#b64a6f', '#7a5cc4', '#8c8c2f'];

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export function renderChart(title: string, subtitle: string, sections: BarSection[]): string {
  const parts: string[] = [];
  let y = 76;
  sections.forEach((section, s) => {
    const max = Math.max(1e-9, ...section.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
    const scale = (WIDTH - LABEL_W - 90) / max;
    parts.push(`<text x="16" y="${y}" font-size="15" font-weight="bold">${esc(section.title)} (${esc(section.unit)})</text>`);
    y += 12;
    for (const bar of section.bars) {
      const w = Number.isFinite(bar.value) ? Math.max(1, bar.value * scale) : 0;
      parts.push(
        `<text x="${LABEL_W - 8}" y="${y + BAR_H - 5}" font-size="12" text-anchor="end">${esc(bar.label)}</text>`,
        `<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${PALETTE[s % PALETTE.length]}"/>`,
        `<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + BAR_H - 5}" font-size="12">${fmt(bar.value)}</text>`,
      );
      y += BAR_H + GAP;
    }
    y += 28;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="16" y="24" font-size="18" font-weight="bold">${esc(title)}</text>`,
    `<text x="16" y="42" font-size="12" fill="#555">${esc(subtitle)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
