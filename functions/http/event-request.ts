import type {IncomingMessage} from 'node:http';

/**
 * Why a request to an event function (a Pub/Sub-triggered one) carries no event, or `undefined`
 * when it may carry one. The Functions Framework reads an event from a POST with a JSON body (a
 * Pub/Sub push, a structured CloudEvent) or with CloudEvent headers (`ce-specversion`, binary mode);
 * anything else reached its event wrapper with no body and failed there with a TypeError, answered
 * as a 500 "internal" error and logged as a crash, when the caller (someone's curl, a health check)
 * only knocked on the wrong door.
 */
export function eventRequestProblem(
  req: IncomingMessage,
): {status: number; body: Record<string, string>} | undefined {
  if (req.method !== 'POST')
    return {
      status: 405,
      body: {
        error: 'method_not_allowed',
        message:
          'this function is triggered by events: Pub/Sub pushes (or CloudEvents) are POSTed to it',
      },
    };
  if (req.headers['ce-specversion'] !== undefined) return undefined;
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (type === 'application/json' || type === 'application/cloudevents+json')
    return undefined;
  return {
    status: 415,
    body: {
      error: 'unsupported_media_type',
      message:
        'an event is a JSON body (Content-Type: application/json, as Pub/Sub pushes it) or CloudEvent headers (ce-specversion)',
    },
  };
}
