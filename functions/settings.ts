import { DEFAULT_CLEANUP_MAX_AGE_MS } from '../shared';

/** What the functions read from their environment, in one place. */
export interface FunctionSettings {
  /** When set, every HTTP function requires `Authorization: Bearer <token>`. */
  readonly apiToken: string | undefined;
  /**
   * The longest an HTTP acquire may wait. Keep it below the function's timeout (60 s as deployed)
   * so no request outlives its function.
   */
  readonly httpMaxWaitMs: number;
  readonly cleanupMaxAgeMs: number;
  /** Larger request bodies are refused with 413. */
  readonly maxBodyBytes: number;
}

export const DEFAULT_HTTP_MAX_WAIT_MS = 30_000;
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): FunctionSettings {
  return {
    apiToken: env.LOCKS_API_TOKEN || undefined,
    httpMaxWaitMs: milliseconds(env, 'LOCKS_HTTP_MAX_WAIT_MS', DEFAULT_HTTP_MAX_WAIT_MS),
    cleanupMaxAgeMs: milliseconds(env, 'LOCKS_CLEANUP_MAX_AGE_MS', DEFAULT_CLEANUP_MAX_AGE_MS),
    maxBodyBytes: milliseconds(env, 'LOCKS_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES),
  };
}

function milliseconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new SettingsError(`${name} must be a whole number >= 0, got ${JSON.stringify(raw)}`);
  return value;
}
