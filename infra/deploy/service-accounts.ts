import {
  type DeployOptions,
  deploysWorker,
  workerAccount,
} from './deploy-options';

/** The identities of a deploy, each with the least it needs (the grants are in iam-grants.ts). */
export interface DeployAccount {
  readonly use: 'runtime' | 'worker' | 'build' | 'trigger' | 'scheduler';
  readonly email: string;
  /** Why it exists, as its display name says in the console. */
  readonly purpose: string;
  /** The flag that names another one. */
  readonly flag: string;
}

/** Without the example worker, neither its runtime account nor its trigger's is made. */
export function deployAccounts(options: DeployOptions): DeployAccount[] {
  const all: DeployAccount[] = [
    {
      use: 'runtime',
      email: options.runtimeServiceAccount,
      purpose: 'locks functions: runtime',
      flag: '--runtime-service-account',
    },
    {
      use: 'worker',
      email: workerAccount(options),
      purpose: 'locks worker: runtime',
      flag: '--worker-service-account',
    },
    {
      use: 'build',
      email: options.buildServiceAccount,
      purpose: 'locks functions: Cloud Build',
      flag: '--build-service-account',
    },
    {
      use: 'trigger',
      email: options.triggerServiceAccount,
      purpose: 'locks worker: Pub/Sub push',
      flag: '--trigger-service-account',
    },
    {
      use: 'scheduler',
      email: options.schedulerServiceAccount,
      purpose: 'locks cleanup: Cloud Scheduler',
      flag: '--scheduler-service-account',
    },
  ];
  return deploysWorker(options)
    ? all
    : all.filter(
        account => account.use !== 'worker' && account.use !== 'trigger',
      );
}

/** The same account may serve several uses (a caller may pass one email twice): each is checked and created once. */
export function distinctAccounts(options: DeployOptions): DeployAccount[] {
  const seen = new Set<string>();
  return deployAccounts(options).filter(
    account => !seen.has(account.email) && seen.add(account.email),
  );
}

/** The account id, when the deploy may create it: an account of the deployed project. */
export function creatableId(
  options: DeployOptions,
  email: string,
): string | undefined {
  const match =
    /^([a-z][a-z0-9-]{4,28}[a-z0-9])@([a-z0-9-]+)\.iam\.gserviceaccount\.com$/.exec(
      email,
    );
  return match && match[2] === options.project ? match[1] : undefined;
}

/** A read: succeeds for an account that exists, NOT_FOUND otherwise. */
export function accountDescribeCommand(
  options: DeployOptions,
  email: string,
): string[] {
  return [
    'iam',
    'service-accounts',
    'describe',
    email,
    `--project=${options.project}`,
    '--format=value(email)',
  ];
}

export function accountCreateCommand(
  options: DeployOptions,
  id: string,
  purpose: string,
): string[] {
  return [
    'iam',
    'service-accounts',
    'create',
    id,
    `--project=${options.project}`,
    `--display-name=${purpose}`,
    '--quiet',
  ];
}
