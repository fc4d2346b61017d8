/**
 * Google's support schedule for the Node.js runtimes of Cloud Run functions
 * (https://cloud.google.com/functions/docs/runtime-support). A deprecated runtime still deploys;
 * once decommissioned, functions on it can no longer be created or updated, so a deploy is refused.
 */
export const NODE_RUNTIME_SCHEDULE: Readonly<
  Record<string, {readonly deprecated: string; readonly decommissioned: string}>
> = {
  nodejs20: {deprecated: '2026-04-30', decommissioned: '2026-10-30'},
  nodejs22: {deprecated: '2027-04-30', decommissioned: '2027-10-31'},
  nodejs24: {deprecated: '2028-04-30', decommissioned: '2028-10-31'},
};

export type RuntimeStatus =
  'supported' | 'deprecated' | 'decommissioned' | 'unknown';

/** Where `runtime` stands on `at` (dates are whole UTC days: decommissioned from the first moment of that day). */
export function runtimeStatus(runtime: string, at: Date): RuntimeStatus {
  const dates = NODE_RUNTIME_SCHEDULE[runtime];
  if (!dates) return 'unknown';
  if (at.getTime() >= Date.parse(`${dates.decommissioned}T00:00:00Z`))
    return 'decommissioned';
  if (at.getTime() >= Date.parse(`${dates.deprecated}T00:00:00Z`))
    return 'deprecated';
  return 'supported';
}

/** Refuses a decommissioned runtime before the deploy changes anything; a warning for one nearing its end, or one this table does not know. */
export function deployableRuntime(
  runtime: string,
  at: Date,
): {readonly warning?: string} {
  const dates = NODE_RUNTIME_SCHEDULE[runtime];
  switch (runtimeStatus(runtime, at)) {
    case 'decommissioned':
      throw new Error(
        `firebase.json functions.runtime is ${runtime}, decommissioned on ${dates?.decommissioned}: Cloud Functions refuses to create or update functions on it. ` +
          `Set a supported runtime (${supportedOn(at).join(', ') || 'see the runtime schedule'}) in firebase.json.`,
      );
    case 'deprecated':
      return {
        warning: `${runtime} is deprecated since ${dates?.deprecated} and is decommissioned on ${dates?.decommissioned}; move firebase.json functions.runtime on before then`,
      };
    case 'unknown':
      return {
        warning: `${runtime} is not in this deploy's runtime schedule (infra/deploy/runtime-schedule.ts); check Google's schedule`,
      };
    case 'supported':
      return {};
  }
}

function supportedOn(at: Date): string[] {
  return Object.keys(NODE_RUNTIME_SCHEDULE).filter(
    runtime => runtimeStatus(runtime, at) === 'supported',
  );
}
