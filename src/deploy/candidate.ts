/**
 * verify-then-promote's names, as Cloud Run's rules have them. Pure (no node: imports): the workflow
 * derives the tag, the activities the revision name, and both agree.
 *
 * A tag is lowercase letters, digits and '-', starts with a letter, has at least 3 characters, and
 * with the service's name makes the first DNS label of `https://TAG---SERVICE-HASH-REGION.a.run.app`:
 * Cloud Run refuses a tag and service name longer than 46 characters together.
 */
import type { ProbesConfig } from '../config/types';

/** Cloud Run's limit on a tag's and its service's names together. */
export const TAG_AND_SERVICE_MAX = 46;
/** The shortest tag the loop makes, for the longest cycle number (1000): `cy` and the cycle. */
const SHORTEST_TAG = 'cy1000'.length;
/** A service name at most this long leaves room for a tag. */
export const PROMOTABLE_SERVICE_MAX = TAG_AND_SERVICE_MAX - SHORTEST_TAG;
/** Cloud Run's limit on a revision name (it starts with the service's name). */
const REVISION_MAX = 63;

/** Lowercase letters, digits and single '-', no '-' at either end. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

const trimEnd = (text: string) => text.replace(/-+$/, '');

/** FNV-1a: a short, stable digest (the workflow cannot use node:crypto). */
function digest(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(36).padStart(7, '0').slice(-4);
}

/**
 * The candidate's tag for one loop and cycle: `<loop name>-<4 characters of the workflow id>-c<cycle>`,
 * the name cut (then the digest) until tag and service fit Cloud Run's limit together; `cy<cycle>`
 * when nothing of them fits.
 */
export function candidateTag(loopName: string, workflowId: string, cycle: number, service: string): string {
  const room = TAG_AND_SERVICE_MAX - service.length;
  const end = `c${cycle}`;
  const shortest = `cy${cycle}`;
  if (room < shortest.length) throw new RangeError(`service name "${service}" leaves no room for a tag (at most ${PROMOTABLE_SERVICE_MAX} characters)`);
  const name = slug(loopName);
  const parts = [/^[a-z]/.test(name) ? name : `l-${name}`, digest(workflowId)].filter((p) => p !== 'l-');
  let head = parts.join('-');
  const headRoom = room - end.length - 1;
  if (head.length > headRoom) head = trimEnd(head.slice(0, headRoom));
  return head && /^[a-z]/.test(head) ? `${head}-${end}` : shortest;
}

/**
 * The candidate revision's name for a commit: `<service>-<commit>` (Cloud Run's names start with the
 * service's), `-a<attempt>` from the second attempt on (a revision name can be used once).
 */
export function candidateRevision(service: string, commit: string, attempt: number): string {
  const suffix = attempt > 1 ? `-a${attempt}` : '';
  const room = REVISION_MAX - service.length - 1 - suffix.length;
  const c = trimEnd(slug(commit).slice(0, room)) || 'fix';
  return `${service}-${c}${suffix}`;
}

/** verify.url with its origin replaced by the tag's URL: the same check, on the candidate. */
export function candidateUrl(verifyUrl: string, tagUrl: string): string {
  const rest = verifyUrl.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  return tagUrl.replace(/\/+$/, '') + rest;
}

/** A URL's origin compared as http(s): scheme (ws/wss as http/https), host and port, default ports dropped. */
function httpOrigin(url: string): string | null {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/?#]*@)?([^/?#]*)/i.exec(url);
  if (!m) return null;
  const scheme = m[1].toLowerCase().replace(/^ws(s?)$/, 'http$1');
  const port = scheme === 'https' ? ':443' : scheme === 'http' ? ':80' : '';
  const host = m[2].toLowerCase();
  return `${scheme}://${port && host.endsWith(port) ? host.slice(0, -port.length) : host}`;
}

/** Cloud Run's own service URL beside a tag's (`https://TAG---SERVICE-…` without `TAG---`); null for other URLs. */
export function taggedServiceUrl(tagUrl: string, tag: string): string | null {
  const m = /^([a-z]+:\/\/)([^/?#]*)(.*)$/i.exec(tagUrl);
  return m && m[2].toLowerCase().startsWith(`${tag}---`) ? `${m[1]}${m[2].slice(tag.length + 3)}${m[3]}` : null;
}

/**
 * The probes pointed at a candidate: each URL whose origin is one of the service's (verify.url's, the
 * Cloud Run service URL) gets the tag's URL in its place, path and query kept (a ws:// probe stays a
 * WebSocket URL); probes of other origins (another service, an auth server) stay as configured.
 */
export function probesAt(probes: ProbesConfig, serviceUrls: readonly (string | null | undefined)[], tagUrl: string): ProbesConfig {
  const service = new Set(serviceUrls.map((u) => (u ? httpOrigin(u) : null)).filter((o): o is string => o !== null));
  const at = (url: string): string => {
    const origin = httpOrigin(url);
    if (!origin || !service.has(origin)) return url;
    const moved = candidateUrl(url, tagUrl);
    return /^wss?:/i.test(url) ? moved.replace(/^http(s?):/i, 'ws$1:') : moved;
  };
  const { websocket, jwt, http } = probes;
  return {
    ...probes,
    websocket: websocket && { ...websocket, url: at(websocket.url) },
    jwt: jwt && { ...jwt, jwksUrl: jwt.jwksUrl && at(jwt.jwksUrl) },
    http: http && { ...http, url: at(http.url) },
  };
}
