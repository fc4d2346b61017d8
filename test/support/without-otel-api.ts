import Module from 'node:module';

/**
 * Preloaded (`node -r`) into a child process to play an app that does not have the optional peer
 * dependency `@opentelemetry/api` installed: resolving it fails as it would there.
 */
const moduleWithResolver = Module as unknown as {
  _resolveFilename: (request: string, ...rest: unknown[]) => string;
};
const resolve = moduleWithResolver._resolveFilename;
moduleWithResolver._resolveFilename = function (
  request: string,
  ...rest: unknown[]
): string {
  if (
    request === '@opentelemetry/api' ||
    request.startsWith('@opentelemetry/api/')
  ) {
    throw Object.assign(new Error(`Cannot find module '${request}'`), {
      code: 'MODULE_NOT_FOUND',
    });
  }
  return resolve.call(this, request, ...rest);
};
