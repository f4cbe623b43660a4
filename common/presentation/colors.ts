// Stable, theme-aware colours per lock class: the same class gets the same hue in every
// file, window and session (hash of the class name), with lightness and alpha chosen per
// theme kind so tints stay subtle on light and dark backgrounds and visible in high contrast.

export type ThemeKind = 'light' | 'dark' | 'highContrast' | 'highContrastLight';

export interface ClassColors {
  /** Background of the held region: subtle. */
  tint: string;
  /** Gutter bar and overview ruler: opaque. */
  bar: string;
  /** Background of the region under the cursor: stronger than `tint`. */
  strong: string;
  /** Border of the region under the cursor. */
  border: string;
}

/** FNV-1a over UTF-16 code units: stable across platforms and Node versions. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Hue in [0, 360) for a lock class; spread with the golden angle so near hashes differ visibly. */
export function hueOf(lockClass: string): number {
  return Math.round((hashString(lockClass) * 137.508) % 360);
}

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const hp = h / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  let rgb: [number, number, number];
  if (hp < 1) rgb = [c, x, 0];
  else if (hp < 2) rgb = [x, c, 0];
  else if (hp < 3) rgb = [0, c, x];
  else if (hp < 4) rgb = [0, x, c];
  else if (hp < 5) rgb = [x, 0, c];
  else rgb = [c, 0, x];
  const m = l - c / 2;
  return rgb.map((v) => Math.round((v + m) * 255)) as [number, number, number];
}

function rgba(h: number, s: number, l: number, a: number): string {
  const [r, g, b] = hslToRgb(h, s, l);
  return `rgba(${r}, ${g}, ${b}, ${a})`;
}

const PARAMS: Record<ThemeKind, { s: number; l: number; tint: number; strong: number; bar: number }> = {
  light: { s: 0.7, l: 0.45, tint: 0.07, strong: 0.18, bar: 0.85 },
  dark: { s: 0.65, l: 0.6, tint: 0.08, strong: 0.2, bar: 0.9 },
  highContrast: { s: 0.9, l: 0.6, tint: 0.16, strong: 0.32, bar: 1 },
  highContrastLight: { s: 0.9, l: 0.35, tint: 0.14, strong: 0.3, bar: 1 },
};

export function classColors(lockClass: string, theme: ThemeKind): ClassColors {
  const hue = hueOf(lockClass);
  const p = PARAMS[theme];
  return {
    tint: rgba(hue, p.s, p.l, p.tint),
    bar: rgba(hue, p.s, p.l, p.bar),
    strong: rgba(hue, p.s, p.l, p.strong),
    border: rgba(hue, p.s, p.l, Math.min(1, p.bar)),
  };
}

/** A thin vertical bar as an SVG data URI, for a gutter icon. */
export function gutterBarSvg(color: string): string {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16"><rect x="5" y="0" width="3" height="16" fill="${color}"/></svg>`;
  return `data:image/svg+xml;utf8,${encodeURIComponent(svg)}`;
}
