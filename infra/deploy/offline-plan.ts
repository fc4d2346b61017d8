import type {PubSub} from '@google-cloud/pubsub';
import {topicPath} from '../topology';
import type {DeployTools} from './deploy';
import type {DeployOptions} from './deploy-options';
import type {GcloudResult, GcloudRunner} from './gcloud-runner';
import {MIN_GCLOUD, MIN_GCLOUD_DIRECT_VPC} from './gcloud-version';
import type {SchedulerApi} from './scheduler-job';

/**
 * `--plan`: the deploy's own dry run, against a stand-in for a brand-new project instead of a real
 * one, so it needs no credentials, no network and no gcloud. Every read is answered as a fresh
 * project answers it (no API of ours enabled, no account, no database, no topic, no job, no
 * organisation policy, the caller allowed everything), and each planned command updates the
 * stand-in as the real one would (an API enabled, an account created), so the plan goes on past
 * the steps a dry run of a real fresh project must stop at. What it cannot know is said, in `ASSUMED`.
 */
export const ASSUMED = [
  'plan for a brand-new project: nothing read from Google Cloud, no credentials used',
  'assumed: no API of the deploy enabled yet (enabling one that is on changes nothing), no organisation policy in the way (the real deploy reads them first), and you hold every permission the deploy checks',
  'the Pub/Sub service agent is named with PROJECT_NUMBER, the trigger subscription Eventarc creates with TRIGGER_SUBSCRIPTION: the real deploy reads both',
];

export const PLACEHOLDER_PROJECT_NUMBER = 'PROJECT_NUMBER';

/**
 * With --valkey-instance, a plan cannot read the instance: it assumes one made as
 * docs/deploying.md makes it, on the --network given, and says so.
 */
export const ASSUMED_VALKEY =
  'assumed: the --valkey-instance exists as docs/deploying.md creates it (ACTIVE, Valkey 9.0, cluster mode disabled, maxmemory-policy noeviction, TLS server authentication, IAM auth, a PSC endpoint on --network); its address and CA are placeholders (VALKEY_PRIMARY_IP, SERVER_CA_PEM) the real deploy reads. A --valkey-url-secret is assumed to exist';

/** The stand-in instance's answer to `gcloud memorystore instances describe --format=json`. */
export function plannedInstance(options: DeployOptions): object {
  const network = options.network?.includes('/')
    ? options.network
    : `projects/${options.project}/global/networks/${options.network ?? 'default'}`;
  return {
    state: 'ACTIVE',
    engineVersion: 'VALKEY_9_0',
    mode: 'CLUSTER_DISABLED',
    authorizationMode: 'IAM_AUTH',
    transitEncryptionMode: 'SERVER_AUTHENTICATION',
    engineConfigs: {'maxmemory-policy': 'noeviction'},
    endpoints: [
      {
        connections: [
          {
            pscAutoConnection: {
              connectionType: 'CONNECTION_TYPE_PRIMARY',
              ipAddress: 'VALKEY_PRIMARY_IP',
              port: 6379,
              network,
            },
          },
        ],
      },
    ],
  };
}

export function planTools(options: DeployOptions): DeployTools {
  const enabled = new Set<string>();
  const accounts = new Set<string>();
  const ok = (stdout: string): GcloudResult => ({code: 0, stdout, stderr: ''});
  const notFound: GcloudResult = {
    code: 1,
    stdout: '',
    stderr: 'ERROR: (gcloud) NOT_FOUND: not in a brand-new project\n',
  };
  const gcloud: GcloudRunner = async args => {
    const [group, sub, verb] = args;
    if (group === 'version')
      return ok(
        JSON.stringify({
          'Google Cloud SDK':
            (options.network ?? options.subnet) === undefined
              ? MIN_GCLOUD
              : MIN_GCLOUD_DIRECT_VPC,
          beta: 'planned',
        }),
      );
    if (group === 'services' && sub === 'list')
      return ok([...enabled].join('\n'));
    if (group === 'iam' && verb === 'describe')
      return accounts.has(args[3] ?? '') ? ok(`${args[3]}\n`) : notFound;
    if (group === 'projects' && sub === 'describe')
      return ok(`${PLACEHOLDER_PROJECT_NUMBER}\n`);
    if (group === 'memorystore' && verb === 'describe')
      return ok(JSON.stringify(plannedInstance(options)));
    if (group === 'memorystore' && verb === 'get-certificate-authority')
      return ok(
        JSON.stringify({
          managedServerCa: {caCerts: [{certificates: ['SERVER_CA_PEM']}]},
        }),
      );
    if (group === 'secrets' && sub === 'describe') return ok(`${args[2]}\n`);
    // The database, the organisation policies, the worker: none in a new project.
    return notFound;
  };
  const simulate = (args: readonly string[]) => {
    if (args[0] === 'services' && args[1] === 'enable')
      for (const api of args.slice(2).filter(arg => !arg.startsWith('--')))
        enabled.add(api);
    if (args[0] === 'iam' && args[2] === 'create')
      accounts.add(`${args[3]}@${options.project}.iam.gserviceaccount.com`);
  };
  const absent = async () => [false] as [boolean];
  // Only what a dry run calls: names, and `exists` (a dry run never creates).
  const pubsub = {
    topic: (name: string) => ({
      name: topicPath(options.project, name),
      exists: absent,
    }),
    subscription: (name: string) => ({
      name: `projects/${options.project}/subscriptions/${name}`,
      exists: absent,
    }),
  } as unknown as PubSub;
  const scheduler = {
    getJob: async () => {
      throw Object.assign(new Error('NOT_FOUND: not in a brand-new project'), {
        code: 5,
      });
    },
  } as unknown as SchedulerApi;
  return {
    pubsub,
    scheduler,
    gcloud,
    simulate,
    permissions: async (_project, permissions) => permissions,
    accountPermissions: async (_email, permissions) => permissions,
    run: async () => {
      throw new Error('a plan runs no command');
    },
  };
}
