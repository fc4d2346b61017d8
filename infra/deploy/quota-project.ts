/**
 * The deploy's Pub/Sub and Cloud Scheduler clients run on the user's application default
 * credentials, which carry no quota project unless `gcloud auth application-default
 * set-quota-project` was run; Google warns that requests can then fail because "the quota project
 * cannot be identified". google-auth-library takes the quota project from GOOGLE_CLOUD_QUOTA_PROJECT
 * over the credentials' own: the deploy sets it to the deployed project, unless the caller set it,
 * and says which it uses.
 */
export const QUOTA_PROJECT_VARIABLE = 'GOOGLE_CLOUD_QUOTA_PROJECT';

export interface QuotaProject {
  readonly project: string;
  /** Set by the deploy (true), or the caller's own (false). */
  readonly set: boolean;
  readonly line: string;
}

/** The quota project for `project`'s deploy; `env` is changed in place (process.env in main) before any client exists. */
export function useQuotaProject(
  project: string,
  env: Record<string, string | undefined>,
): QuotaProject {
  const given = env[QUOTA_PROJECT_VARIABLE];
  if (given)
    return {
      project: given,
      set: false,
      line: `Pub/Sub and Cloud Scheduler calls are billed to quota project ${given} (${QUOTA_PROJECT_VARIABLE}, as set)`,
    };
  env[QUOTA_PROJECT_VARIABLE] = project;
  return {
    project,
    set: true,
    line: `Pub/Sub and Cloud Scheduler calls are billed to quota project ${project}, the deployed project (${QUOTA_PROJECT_VARIABLE}; set it to use another)`,
  };
}
