import {MAX_DURATION_MS} from './durations';

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

export const DURATION_TEXT_RULE = 'a duration such as 500ms, 30s, 10m or 2h';

/**
 * `500ms`, `30s`, `10m`, `2h`, `1d`, or a bare number of milliseconds, as typed on a command
 * line; `undefined` for anything else, or for more than MAX_DURATION_MS.
 */
export function parseDurationText(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * (UNITS[match[2] ?? 'ms'] as number));
  return ms <= MAX_DURATION_MS ? ms : undefined;
}
