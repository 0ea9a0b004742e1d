/**
 * verify-then-promote's names, as Cloud Run's rules have them. Pure (no node: imports): the workflow
 * derives the tag, the activities the revision name, and both agree.
 *
 * A tag is lowercase letters, digits and '-', starts with a letter, has at least 3 characters, and
 * with the service's name makes the first DNS label of `https://TAG---SERVICE-HASH-REGION.a.run.app`:
 * Cloud Run refuses a tag and service name longer than 46 characters together.
 */

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
