import type * as OtelApi from '@opentelemetry/api';

export type Otel = typeof OtelApi;

let loaded: Otel | null | undefined;

/**
 * `@opentelemetry/api` when the app has it installed (an optional peer dependency), else `null`:
 * then every span and metric here is skipped. Loaded on the first lock call, never at import, so a
 * cold start pays nothing for it. Without an SDK registered, the API hands out no-op tracers and
 * meters, which cost a few object allocations per lock call.
 */
export function otelApi(): Otel | null {
  if (loaded === undefined) {
    try {
      loaded = require('@opentelemetry/api') as Otel;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}
