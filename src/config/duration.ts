// Durations as operators write them: a whole number and a unit (`30d`, `12h`).

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export const DURATION_PATTERN = '^[1-9][0-9]*[smhdw]$';
export const DURATION_EXPECT = 'must be a whole number and a unit: s, m (minutes), h, d or w ("30d", "12h")';

/** `30d` → milliseconds; undefined when `text` is no duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^([1-9][0-9]*)([smhdw])$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
