import type {IncomingHttpHeaders} from 'node:http';

/**
 * Why a request is a browser's call from another site (or another origin), or `undefined` when it
 * is not. These endpoints serve servers, schedulers and curl, none of which sends these
 * headers; a browser sends them on every POST. Any web page a developer opens could otherwise make
 * the browser release or clean up the locks of a local stack run without a token: the JSON
 * content type already forces a preflight these endpoints never grant, and this refuses what gets
 * past it (a browser without that rule, or a future CORS header).
 *
 * `Sec-Fetch-Site` is the browser's own verdict; `same-site` is refused too, since another port
 * on localhost is the same site. `Origin` is compared with the request's own host: a proxy in
 * front (Google's) keeps `Host`, and the scheme is left out, because TLS ends at that proxy.
 */
export function crossSiteRequest(
  headers: IncomingHttpHeaders,
): string | undefined {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return `a browser request from another site (Sec-Fetch-Site: ${shortened(site)})`;
  const origin = headers.origin;
  if (origin === undefined) return undefined;
  if (hostOf(origin) !== headers.host?.toLowerCase())
    return `a browser request from another origin (Origin: ${shortened(origin)})`;
  return undefined;
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase() || undefined;
  } catch {
    // `Origin: null` (a sandboxed frame, a file: page) and anything unparsable.
    return undefined;
  }
}

function shortened(value: string): string {
  return value.length > 100 ? `${value.slice(0, 100)}...` : value;
}
