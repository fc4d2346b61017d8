import {protos, type CloudSchedulerClient} from '@google-cloud/scheduler';
import {API_TOKEN_HEADER} from '../../functions/http/auth';
import type {ApplyMode, Change} from '../changes';
import {CLEANUP_JOB, CLEANUP_SCHEDULE} from '../topology';
import type {DeployOptions} from './deploy-options';
import {functionUrl} from './gcloud-commands';

type Job = protos.google.cloud.scheduler.v1.IJob;
const {HttpMethod} = protos.google.cloud.scheduler.v1;

/** The calls used; a CloudSchedulerClient, or a stub of one in tests (there is no Scheduler emulator). */
export type SchedulerApi = Pick<
  CloudSchedulerClient,
  'getJob' | 'createJob' | 'updateJob'
>;

/**
 * Cloud Scheduler calls cleanupLocks on the schedule the local stack mirrors, with an OIDC token
 * (in `Authorization`, for IAM) and, when the functions require LOCKS_API_TOKEN, that token in its
 * own header. The token comes from the deploying shell's LOCKS_API_TOKEN, the variable the
 * functions read: set it to the value the functions have.
 */
export function cleanupJob(
  options: DeployOptions,
  apiToken: string | undefined = process.env.LOCKS_API_TOKEN || undefined,
): Job {
  const uri = functionUrl(options, 'cleanupLocks');
  return {
    name: `projects/${options.project}/locations/${options.region}/jobs/${CLEANUP_JOB}`,
    description: 'cloud-functions-locking: cleanupLocks deletes stale locks',
    schedule: CLEANUP_SCHEDULE.cron,
    timeZone: CLEANUP_SCHEDULE.timeZone,
    // The function's own timeout is 60 s.
    attemptDeadline: {seconds: 90},
    httpTarget: {
      uri,
      httpMethod: HttpMethod.POST,
      headers: {
        'Content-Type': 'application/json',
        ...(apiToken ? {[API_TOKEN_HEADER]: apiToken} : {}),
      },
      body: Buffer.from('{}'),
      oidcToken: {
        serviceAccountEmail: options.schedulerServiceAccount,
        audience: uri,
      },
    },
  };
}

/** Get, then create (NOT_FOUND) or update when anything we set differs. */
export async function ensureSchedulerJob(
  client: SchedulerApi,
  job: Job,
  mode: ApplyMode,
): Promise<Change> {
  const resource = `scheduler job ${job.name}`;
  const parent = (job.name as string).replace(/\/jobs\/[^/]+$/, '');
  let current: Job | undefined;
  try {
    [current] = await client.getJob({name: job.name as string});
  } catch (error) {
    if ((error as {code?: number}).code !== 5) throw error;
  }
  let change: Change;
  if (!current) {
    change = {
      action: 'create',
      resource,
      call: `scheduler.createJob(${printable({parent, job})})`,
    };
    if (!mode.dryRun) await client.createJob({parent, job});
  } else if (
    JSON.stringify(comparable(current)) === JSON.stringify(comparable(job))
  ) {
    change = {action: 'unchanged', resource, call: ''};
  } else {
    change = {
      action: 'update',
      resource,
      call: `scheduler.updateJob(${printable({job})})`,
    };
    if (!mode.dryRun) await client.updateJob({job});
  }
  mode.report?.(change);
  return change;
}

/** The fields we set, in one form whether they come from us or back from the API (enums as names, bytes as text). */
function comparable(job: Job) {
  const target = job.httpTarget ?? {};
  const method =
    typeof target.httpMethod === 'number'
      ? HttpMethod[target.httpMethod]
      : target.httpMethod;
  return {
    description: job.description ?? '',
    schedule: job.schedule ?? '',
    timeZone: job.timeZone ?? '',
    attemptDeadline: Number(job.attemptDeadline?.seconds ?? 0),
    uri: target.uri ?? '',
    method: method ?? '',
    contentType: header(target.headers, 'Content-Type'),
    apiToken: header(target.headers, API_TOKEN_HEADER),
    body: Buffer.from(target.body ?? '').toString('utf8'),
    oidc: [
      target.oidcToken?.serviceAccountEmail ?? '',
      target.oidcToken?.audience ?? '',
    ],
  };
}

/** Header names are case-insensitive; the API need not answer them as we sent them. */
function header(
  headers: Record<string, string> | null | undefined,
  name: string,
): string {
  const found = Object.entries(headers ?? {}).find(
    ([key]) => key.toLowerCase() === name.toLowerCase(),
  );
  return found?.[1] ?? '';
}

function printable(value: unknown): string {
  return JSON.stringify(value, (key, item: unknown) => {
    if (key === 'body' && item && typeof item === 'object')
      return `bytes(${JSON.stringify(Buffer.from((item as {data: number[]}).data ?? []).toString())})`;
    if (key === 'httpMethod' && typeof item === 'number')
      return HttpMethod[item];
    // A dry run's output may end up in a terminal log or CI output: the token never does.
    if (key === API_TOKEN_HEADER) return '<LOCKS_API_TOKEN>';
    return item;
  });
}
