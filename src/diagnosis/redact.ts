/**
 * The one redaction function every output passes through (messages, probe results, reports, logs).
 * A token is shown only by its fingerprint (length, dots, first 12 and last 8 characters, Bearer or not); any other secret becomes `[redacted]`.
 */
import { isSecretName, maskUrlPasswords, workerSecretValues } from '../secrets';
import type { TokenFingerprint } from './types';

export type { TokenFingerprint } from './types';

export const REDACTED = '[redacted]';

/** Shorter values are too likely to occur by chance ("true", "1234") to be masked everywhere. */
const MIN_SECRET_LENGTH = 6;

/*
 * Every pattern below runs in time linear in the text (hostile testcase names are hundreds of KB):
 * a match may only start where the consumed runs of different starts cannot overlap (after a
 * character outside the run, or on a literal that ends the previous run), or its variable parts
 * are bounded. test/diagnosis/redact.test.ts compares times at 40 KB and 320 KB to keep it so.
 */

/**
 * Three base64url segments, the first a JSON header (`{"` = `eyJ`); optional `Bearer ` before it.
 * It starts only at the start of a run of base64url characters, so no two starts share a segment.
 */
const JWT = /(\bBearer\s{1,16})?(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;
/** RFC 6750 b64token and Basic credentials. The credential must not be a plain word ("Bearer prefix"). */
const AUTH_SCHEME = /\b(Bearer|Basic)(\s{1,16})(?![A-Za-z][a-z]{0,64}\b)([A-Za-z0-9._~+/-]{4,}=*)/g;
/** Well-known key formats: OpenAI/Stripe `sk-`, GitHub, Slack tokens and webhooks, AWS access key ids. */
const KNOWN_KEY =
  /\b(?:sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abpr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})|hooks\.slack\.com\/services\/[A-Za-z0-9/]+/g;
/**
 * `api_key=...`, `"password": "..."`, `token: ...`: keep the key, mask the value (not an earlier mask).
 * Anchored on the key word itself: whatever precedes it stays as it is, so it need not be matched.
 */
const KEY_VALUE =
  /((?:api[_-]?key|apikey|access[_-]?key|token|secret|password|passwd|pwd|credential|authorization)[A-Za-z0-9_-]{0,40})(["']?[ \t]{0,16}[:=][ \t]{0,16}["']?)(?!\[|Bearer\b|Basic\b)([^\s"'&,;)}\]]{6,})/gi;

/** Length, dot count, first 12 and last 8 characters, and whether a `Bearer ` prefix was present. */
export function fingerprintToken(token: string): TokenFingerprint {
  const bearerMatch = /^\s*Bearer\s+/i.exec(token);
  const raw = bearerMatch ? token.slice(bearerMatch[0].length).trim() : token.trim();
  return {
    length: raw.length,
    dots: raw.split('.').length - 1,
    // For a short value the first 12 and last 8 characters would be most of it: keep neither then.
    prefix: raw.length > 20 ? raw.slice(0, 12) : '',
    suffix: raw.length > 20 ? raw.slice(-8) : '',
    bearer: bearerMatch !== null,
  };
}

/** `[token len=373 dots=2 eyJhbGciOiJI…e7OLU3aA bearer=no]` */
export function formatFingerprint(fp: TokenFingerprint): string {
  return `[token len=${fp.length} dots=${fp.dots} ${fp.prefix}…${fp.suffix} bearer=${fp.bearer ? 'yes' : 'no'}]`;
}

/** The worker's own secrets (see src/secrets.ts), read at call time, plus the caller's secrets. */
function secretValues(secrets: readonly string[]): string[] {
  const values = new Set<string>();
  for (const value of [...workerSecretValues(process.env), ...secrets]) if (value.length >= MIN_SECRET_LENGTH) values.add(value);
  return [...values];
}

/** The forms a secret takes when a program encodes it: base64, base64url, URL-encoded, JSON string. */
function encodedForms(value: string): string[] {
  const base64 = Buffer.from(value, 'utf8').toString('base64');
  return [
    value,
    base64,
    base64.replace(/=+$/, ''),
    Buffer.from(value, 'utf8').toString('base64url'),
    encodeURIComponent(value),
    JSON.stringify(value).slice(1, -1),
  ];
}

function maskValue(value: string): string {
  return looksLikeJwt(value) ? formatFingerprint(fingerprintToken(value)) : REDACTED;
}

function looksLikeJwt(value: string): boolean {
  return /^(Bearer\s+)?eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value.trim());
}

/** A redaction function for one set of secrets (env values are read now, once): for streams of text. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  // Known literal values go first: a secret that is itself a JWT keeps its fingerprint.
  const forms = new Map<string, string>();
  for (const value of secretValues(secrets)) {
    const mask = maskValue(value);
    for (const form of encodedForms(value)) if (form.length >= MIN_SECRET_LENGTH) forms.set(form, mask);
  }
  // Longest first, so a value is not half-masked by a shorter secret it contains.
  const ordered = [...forms.entries()].sort((a, b) => b[0].length - a[0].length);
  return (text) => {
    let out = text;
    for (const [form, mask] of ordered) if (out.includes(form)) out = out.split(form).join(mask);
    out = out.replace(JWT, (token) => formatFingerprint(fingerprintToken(token)));
    out = out.replace(AUTH_SCHEME, (_m, scheme: string, space: string) => `${scheme}${space}${REDACTED}`);
    out = out.replace(KNOWN_KEY, REDACTED);
    out = maskUrlPasswords(out, REDACTED);
    return out.replace(KEY_VALUE, (_m, key: string, separator: string) => `${key}${separator}${REDACTED}`);
  };
}

/** Characters a token, key or encoded secret is made of. */
const TOKEN_CHAR = /[A-Za-z0-9._~+/=-]/;

/**
 * Shortens text to at most `max` characters (with `ellipsis` when cut) without ending inside a
 * run of token characters: half a secret is no longer recognisable by redaction, so it goes whole.
 */
export function clipText(text: string, max: number, ellipsis = ''): string {
  if (text.length <= max) return text;
  let end = max - ellipsis.length;
  if (TOKEN_CHAR.test(text[end])) while (end > 0 && TOKEN_CHAR.test(text[end - 1])) end--;
  return `${text.slice(0, end)}${ellipsis}`;
}

/** Masks every secret in `text`; see the module comment. */
export function redact(text: string, secrets: readonly string[] = []): string {
  return redactor(secrets)(text);
}

/**
 * Redacts every string in a JSON-like value (returns a copy). A string under a secret-named key
 * (`token`, `clientSecret`, not `tokenEnv`) is masked as a whole. With `maxText`, longer strings are
 * clipped first (so the patterns never see more than that).
 */
export function redactDeep<T>(value: T, secrets: readonly string[] = [], maxText = Infinity): T {
  const redactText = redactor(secrets);
  const visit = (v: unknown, key: string | null): unknown => {
    if (typeof v === 'string') {
      if (key !== null && v.length > 0 && isSecretName(key)) return maskValue(v);
      return redactText(v.length > maxText ? clipText(v, maxText, '…') : v);
    }
    if (Array.isArray(v)) return v.map((item) => visit(item, null));
    if (v !== null && typeof v === 'object') {
      const copy: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) copy[k] = visit(item, k);
      return copy;
    }
    return v;
  };
  return visit(value, null) as T;
}
