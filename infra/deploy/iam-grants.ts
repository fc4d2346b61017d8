import {DEAD_LETTER_TOPIC, RETRY_TOPIC} from '../topology';
import type {DeployOptions} from './deploy-options';

/**
 * Every role the deploy grants, and why. Each is as narrow as gcloud allows: Datastore has no
 * narrower grant than the project (IAM conditions aside), a topic and a function do.
 */
export interface Grant {
  /** Printed in the plan: who gets what, where. */
  readonly resource: string;
  readonly args: string[];
}

/** Before the functions: Cloud Build needs its role when the first build starts. */
export function projectGrants(options: DeployOptions): Grant[] {
  return [
    projectGrant(
      options,
      options.buildServiceAccount,
      'roles/cloudbuild.builds.builder',
    ),
    // STRONG locks read and write lock entities; the example worker its accounts. The role grants
    // the Firestore API as well as the Datastore API, so it serves either STRONG store.
    projectGrant(
      options,
      options.runtimeServiceAccount,
      'roles/datastore.user',
    ),
  ];
}

/** After the topics exist: lockedHandler re-queues to the retry topic and dead-letters to its topic, and publishes nowhere else. */
export function topicGrants(options: DeployOptions): Grant[] {
  return [RETRY_TOPIC, DEAD_LETTER_TOPIC].map(topic => ({
    resource: `roles/pubsub.publisher on topic ${topic} for ${options.runtimeServiceAccount}`,
    args: [
      'pubsub',
      'topics',
      'add-iam-policy-binding',
      topic,
      `--project=${options.project}`,
      `--member=serviceAccount:${options.runtimeServiceAccount}`,
      '--role=roles/pubsub.publisher',
      '--quiet',
    ],
  }));
}

/**
 * After the functions: run.invoker on one function's Cloud Run service each. The trigger account
 * pushes the worker's Eventarc subscription and its retry subscription, so one grant serves both.
 */
export function invokerGrants(options: DeployOptions): Grant[] {
  return [
    invokerGrant(options, 'cleanupLocks', options.schedulerServiceAccount),
    invokerGrant(options, 'exampleWorker', options.triggerServiceAccount),
  ];
}

function projectGrant(
  options: DeployOptions,
  email: string,
  role: string,
): Grant {
  return {
    resource: `${role} on project ${options.project} for ${email}`,
    // --condition=None: an unconditional binding, and no prompt when the policy already has conditions.
    args: [
      'projects',
      'add-iam-policy-binding',
      options.project,
      `--member=serviceAccount:${email}`,
      `--role=${role}`,
      '--condition=None',
      '--quiet',
    ],
  };
}

export function invokerGrant(
  options: DeployOptions,
  functionName: string,
  email: string,
): Grant {
  return {
    resource: `roles/run.invoker on function ${functionName} for ${email}`,
    args: [
      'functions',
      'add-invoker-policy-binding',
      functionName,
      `--project=${options.project}`,
      `--region=${options.region}`,
      `--member=serviceAccount:${email}`,
      '--quiet',
    ],
  };
}
