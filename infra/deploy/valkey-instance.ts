import {parseValkeyCa} from '../../shared/internal';
import type {DeployOptions} from './deploy-options';
import {readFailed, saysNotFound, type GcloudRunner} from './gcloud-runner';

/**
 * WEAK locks on Memorystore for Valkey: what the deploy reads of the instance (`gcloud memorystore
 * instances describe`, and its server CA) and what it derives: the functions' LOCKS_VALKEY_*
 * settings, the grants, the problems that stop the deploy and the notes that do not.
 */

export const VALKEY_URL_VARIABLE = 'LOCKS_VALKEY_URL';
export const VALKEY_CA_VARIABLE = 'LOCKS_VALKEY_CA';
export const VALKEY_AUTH_VARIABLE = 'LOCKS_VALKEY_AUTH';
export const VALKEY_VARIABLES = [
  VALKEY_URL_VARIABLE,
  VALKEY_CA_VARIABLE,
  VALKEY_AUTH_VARIABLE,
] as const;

/** Memorystore's IAM auth role: `memorystore.instances.connect`, nothing else. */
export const DB_CONNECTION_USER = 'roles/memorystore.dbConnectionUser';
export const SECRET_ACCESSOR = 'roles/secretmanager.secretAccessor';

/** What the functions get: plain variables, the URL from a secret, and the Valkey variables to remove. */
export interface ValkeyTarget {
  readonly env: Readonly<Record<string, string>>;
  /** `SECRET:latest` (or `projects/P/secrets/S:latest`), exposed as LOCKS_VALKEY_URL. */
  readonly urlSecret?: string;
  /** Variables of an earlier Valkey deploy this one does not set (a CA after TLS is turned off...). */
  readonly remove: readonly string[];
  /** The runtime accounts need roles/memorystore.dbConnectionUser on the instance. */
  readonly iam: boolean;
}

/** The parts of the instance resource (memorystore v1 `Instance`) the deploy reads. */
interface InstanceResource {
  state?: string;
  engineVersion?: string;
  mode?: string;
  authorizationMode?: string;
  transitEncryptionMode?: string;
  engineConfigs?: Record<string, string>;
  endpoints?: {
    connections?: {
      pscAutoConnection?: {
        connectionType?: string;
        ipAddress?: string;
        port?: number;
        network?: string;
      };
    }[];
  }[];
}

export function valkeyLocation(options: DeployOptions): string {
  return options.valkeyLocation ?? options.region;
}

export function instanceName(options: DeployOptions): string {
  return `projects/${options.project}/locations/${valkeyLocation(options)}/instances/${options.valkeyInstance}`;
}

export function instanceDescribeCommand(options: DeployOptions): string[] {
  return [
    'memorystore',
    'instances',
    'describe',
    options.valkeyInstance as string,
    `--location=${valkeyLocation(options)}`,
    `--project=${options.project}`,
    '--format=json',
  ];
}

export function certificateAuthorityCommand(options: DeployOptions): string[] {
  return [
    'memorystore',
    'instances',
    'get-certificate-authority',
    options.valkeyInstance as string,
    `--location=${valkeyLocation(options)}`,
    `--project=${options.project}`,
    '--format=json',
  ];
}

/** The secret's id and project: `--valkey-url-secret` is an id in the deployed project or a full name. */
export function secretParts(
  options: DeployOptions,
): {project: string; id: string} | undefined {
  const secret = options.valkeyUrlSecret;
  if (secret === undefined) return undefined;
  const full = /^projects\/([^/]+)\/secrets\/(.+)$/.exec(secret);
  return full
    ? {project: full[1] as string, id: full[2] as string}
    : {project: options.project, id: secret};
}

export function secretDescribeCommand(options: DeployOptions): string[] {
  const {project, id} = secretParts(options) as {project: string; id: string};
  return [
    'secrets',
    'describe',
    id,
    `--project=${project}`,
    '--format=value(name)',
  ];
}

/** The exact command that makes the instance keep every lock key under memory pressure. */
export function noevictionCommand(options: DeployOptions): string {
  return `gcloud memorystore instances update ${options.valkeyInstance} --location=${valkeyLocation(options)} --project=${options.project} --engine-configs=maxmemory-policy=noeviction`;
}

/**
 * Reads the secret and the instance, and judges them. Problems stop the deploy before any change:
 * a missing instance or secret, an instance not ACTIVE, cluster mode, an evicting
 * `maxmemory-policy`, an instance on another network than `--network`, IAM auth with a password
 * secret, an instance with no primary endpoint or no readable CA. Notes do not stop it.
 */
export async function readValkeyTarget(
  options: DeployOptions,
  gcloud: GcloudRunner,
): Promise<{
  target: ValkeyTarget | undefined;
  problems: string[];
  notes: string[];
}> {
  const problems: string[] = [];
  const notes: string[] = [];
  if (options.valkeyInstance === undefined && !options.valkeyUrlSecret)
    return {target: undefined, problems, notes};
  const urlSecret = options.valkeyUrlSecret
    ? `${options.valkeyUrlSecret}:latest`
    : undefined;
  if (options.valkeyUrlSecret) {
    const describe = secretDescribeCommand(options);
    const found = await gcloud(describe);
    if (saysNotFound(found))
      problems.push(
        `secret ${options.valkeyUrlSecret} does not exist: create it with the whole URL, \`printf %s 'rediss://default:PASSWORD@HOST:6379' | gcloud secrets create ${secretParts(options)?.id} --project=${secretParts(options)?.project} --data-file=-\``,
      );
    else if (found.code !== 0)
      problems.push(
        readFailed(`secret ${options.valkeyUrlSecret}`, describe, found)
          .message,
      );
  }
  if (options.valkeyInstance === undefined)
    return {
      target: {
        env: {},
        ...(urlSecret ? {urlSecret} : {}),
        // A CA the operator set for a private server stays; IAM auth cannot go with a password URL.
        remove: [VALKEY_AUTH_VARIABLE],
        iam: false,
      },
      problems,
      notes: [
        `WEAK locks on the Valkey in secret ${options.valkeyUrlSecret} (no --valkey-instance: its server is not checked; a rediss:// server with a private CA also needs LOCKS_VALKEY_CA, set by you)`,
      ],
    };

  const what = `Memorystore for Valkey instance ${options.valkeyInstance} in ${valkeyLocation(options)}`;
  const describe = instanceDescribeCommand(options);
  const described = await gcloud(describe);
  if (saysNotFound(described)) {
    problems.push(
      `${what} does not exist: create it (docs/deploying.md, "WEAK locks on Memorystore for Valkey"), or fix --valkey-instance/--valkey-location`,
    );
    return {target: undefined, problems, notes};
  }
  if (described.code !== 0) {
    problems.push(readFailed(what, describe, described).message);
    return {target: undefined, problems, notes};
  }
  let instance: InstanceResource;
  try {
    instance = JSON.parse(described.stdout) as InstanceResource;
  } catch {
    problems.push(`could not read ${what}: gcloud did not print JSON`);
    return {target: undefined, problems, notes};
  }

  if (instance.state !== 'ACTIVE')
    problems.push(
      `${what} is ${instance.state ?? 'in an unknown state'}, not ACTIVE: deploy once it is ready`,
    );
  const version = instance.engineVersion ?? '';
  if (version === 'VALKEY_7_2')
    notes.push(
      `${what} runs Valkey 7.2: it works, but 8.0 and 9.0 are faster and 7.2 will be retired first; consider upgrading (gcloud memorystore instances update --engine-version)`,
    );
  else if (!/^VALKEY_(8_0|9_0)$/.test(version))
    notes.push(
      `${what} runs ${version || 'an unknown engine version'}, which this deploy was not checked against (Valkey 7.2, 8.0 and 9.0 are)`,
    );
  if (instance.mode === 'CLUSTER')
    problems.push(
      `${what} has cluster mode enabled: WEAK locks' client connects to one primary endpoint (a cluster needs a cluster client, which the library does not build); create an instance with --mode=cluster-disabled`,
    );
  const policy = instance.engineConfigs?.['maxmemory-policy'] ?? 'volatile-lru';
  if (policy !== 'noeviction')
    problems.push(
      `${what} has maxmemory-policy ${policy}${instance.engineConfigs?.['maxmemory-policy'] ? '' : " (Memorystore's default)"}, which evicts lock keys under memory pressure and lets a second holder in: run \`${noevictionCommand(options)}\``,
    );

  const primary = instance.endpoints
    ?.flatMap(endpoint => endpoint.connections ?? [])
    .map(connection => connection.pscAutoConnection)
    .find(
      psc =>
        psc?.connectionType === 'CONNECTION_TYPE_PRIMARY' ||
        (instance.mode === 'CLUSTER' &&
          psc?.connectionType === 'CONNECTION_TYPE_DISCOVERY'),
    );
  if (!primary?.ipAddress) {
    problems.push(
      `${what} has no primary endpoint yet (no PSC connection of type CONNECTION_TYPE_PRIMARY): create it with --endpoints or --psc-auto-connections on the functions' network`,
    );
  } else {
    problems.push(...networkProblems(options, what, primary.network));
    if (options.vpcConnector)
      notes.push(
        `the connector ${options.vpcConnector} is not checked: its network must be the instance's (${primary.network ?? 'unknown'})`,
      );
  }

  const iam = instance.authorizationMode === 'IAM_AUTH';
  if (iam && urlSecret)
    problems.push(
      `${what} uses IAM auth: the functions authenticate with their own account's token, so --valkey-url-secret (a password) has no use: drop it`,
    );
  const tls = instance.transitEncryptionMode === 'SERVER_AUTHENTICATION';
  let ca: string | undefined;
  if (tls) {
    const read = await readServerCa(options, gcloud, what);
    if ('problem' in read) problems.push(read.problem);
    else ca = read.ca;
  }
  const env: Record<string, string> = {
    ...(urlSecret || !primary?.ipAddress
      ? {}
      : {
          [VALKEY_URL_VARIABLE]: `${tls ? 'rediss' : 'redis'}://${primary.ipAddress}:${primary.port ?? 6379}`,
        }),
    // One line: `\n` stands for each line break, which the library reads back (valkey-ca.ts).
    ...(ca === undefined
      ? {}
      : {[VALKEY_CA_VARIABLE]: ca.trim().replace(/\n/g, '\\n')}),
    ...(iam ? {[VALKEY_AUTH_VARIABLE]: 'iam'} : {}),
  };
  if (!tls)
    notes.push(
      `${what} has no in-transit encryption: locks travel in plain text on the VPC (TLS is chosen at creation: --transit-encryption-mode=server-authentication)`,
    );
  return {
    target: {
      env,
      ...(urlSecret ? {urlSecret} : {}),
      remove: VALKEY_VARIABLES.filter(
        name => !(name in env) && !(name === VALKEY_URL_VARIABLE && urlSecret),
      ),
      iam,
    },
    problems,
    notes,
  };
}

/** Direct VPC egress reaches the PSC endpoint only on the instance's network. */
function networkProblems(
  options: DeployOptions,
  what: string,
  instanceNetwork: string | undefined,
): string[] {
  if (options.network === undefined || instanceNetwork === undefined) return [];
  const given = options.network.includes('/')
    ? options.network
    : `projects/${options.project}/global/networks/${options.network}`;
  if (given === instanceNetwork) return [];
  return [
    `${what} is reached on network ${instanceNetwork}, not on --network ${options.network}: deploy with --network=${instanceNetwork}, or give the instance a PSC endpoint on that network`,
  ];
}

async function readServerCa(
  options: DeployOptions,
  gcloud: GcloudRunner,
  what: string,
): Promise<{ca: string} | {problem: string}> {
  const command = certificateAuthorityCommand(options);
  const read = await gcloud(command);
  if (read.code !== 0)
    return {
      problem: readFailed(`the server CA of ${what}`, command, read).message,
    };
  let certificates: string[] = [];
  try {
    const parsed = JSON.parse(read.stdout) as {
      managedServerCa?: {caCerts?: {certificates?: string[]}[]};
    };
    certificates =
      parsed.managedServerCa?.caCerts?.flatMap(
        chain => chain.certificates ?? [],
      ) ?? [];
  } catch {
    certificates = [];
  }
  // A plan has no instance to read: its stand-in CA is a placeholder, not a certificate.
  if (options.plan && certificates.length > 0)
    return {ca: certificates.join('\n')};
  const ca = parseValkeyCa(certificates.join('\n'));
  return ca === undefined
    ? {
        problem: `the server CA of ${what} (gcloud ${command.slice(0, 3).join(' ')}) holds no PEM certificate`,
      }
    : {ca};
}
