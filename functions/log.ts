/**
 * Structured logs as Cloud Logging reads them from stdout: one JSON object per line, with
 * `severity` and `message`. Never log a lock token: it is the holder's capability to release.
 */
export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';

export function log(
  severity: Severity,
  message: string,
  fields: Record<string, unknown> = {},
): void {
  const line = JSON.stringify(
    {severity, message, ...fields},
    (_, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
  );
  if (severity === 'ERROR' || severity === 'WARNING')
    process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
}
