import {type DeployOptions, deploysWorker} from './deploy-options';

/**
 * Google's service agents the worker's delivery relies on: Eventarc's (it creates the trigger's
 * subscription) and Pub/Sub's (it pushes, and dead-letters). A project gets them lazily, the first
 * time the service needs them, and their roles take minutes to propagate: an Eventarc trigger made
 * right after the APIs are enabled often fails with "Permission denied while using the Eventarc
 * Service Agent". Creating them first, at the start of the deploy, starts that clock early; the
 * function deploys are still retried on that error (command-retry.ts). Idempotent: an agent that
 * exists is returned as it is.
 */
export const SERVICE_IDENTITIES = [
  'eventarc.googleapis.com',
  'pubsub.googleapis.com',
] as const;

export function serviceIdentityCommands(
  options: DeployOptions,
): {readonly service: string; readonly args: string[]}[] {
  if (!deploysWorker(options)) return [];
  return SERVICE_IDENTITIES.map(service => ({
    service,
    args: [
      'beta',
      'services',
      'identity',
      'create',
      `--service=${service}`,
      `--project=${options.project}`,
      '--quiet',
    ],
  }));
}
