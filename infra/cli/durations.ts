import {CliError, EXIT} from './exit-codes';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `500ms`, `30s`, `10m`, `2h`, `1d`, or a bare number of milliseconds. */
export function parseDuration(option: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match)
    throw new CliError(
      EXIT.usage,
      `${option} takes a duration such as 500ms, 30s, 10m or 2h, got ${JSON.stringify(text)}`,
    );
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? 'ms'] as number));
}

/** Short and readable: 850ms, 12.3s, 4m 05s, 2h 10m, 3d 4h. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)}ms`;
  if (abs < 60_000) return `${(abs / 1000).toFixed(1)}s`;
  const pad = (value: number) => String(value).padStart(2, '0');
  if (abs < 3_600_000)
    return `${Math.floor(abs / 60_000)}m ${pad(Math.floor((abs % 60_000) / 1000))}s`;
  if (abs < 86_400_000)
    return `${Math.floor(abs / 3_600_000)}h ${pad(Math.floor((abs % 3_600_000) / 60_000))}m`;
  return `${Math.floor(abs / 86_400_000)}d ${Math.floor((abs % 86_400_000) / 3_600_000)}h`;
}
