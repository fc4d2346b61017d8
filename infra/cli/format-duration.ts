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
