/** Datastore timestamps (seconds and nanos, as numbers or int64 strings) to and from Dates. */
export interface TimestampProto {
  seconds?: unknown;
  nanos?: unknown;
}

export function timestampOfDate(date: Date): {seconds: number; nanos: number} {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return {seconds, nanos: (ms - seconds * 1000) * 1_000_000};
}

export function dateOfTimestamp(
  value: TimestampProto | null | undefined,
): Date | undefined {
  if (!value) return undefined;
  return new Date(
    Number(value.seconds ?? 0) * 1000 +
      Math.floor(Number(value.nanos ?? 0) / 1_000_000),
  );
}
