/**
 * The secret policy: which names hold secrets, and which of the worker's own values redaction must
 * know. Pure (no Node imports at load): the loop input's validation, which runs in the workflow
 * sandbox, refuses secret-named `suite.env` entries with the same declaration.
 */
import type { ProbesConfig } from './config/types';

/**
 * Names whose values are secrets: environment variables (`E2E_TOKEN`, `DB_PASS`, `SSH_KEY`,
 * `DATABASE_PASSWORD`, `SLACK_WEBHOOK_URL`) and JSON keys (`accessToken`, `clientSecret`, `apiKey`).
 */
const SECRET_NAME =
  /TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|JWT|WEBHOOK|AUTHORIZATION|(?:^|_)(?:PASS|KEY|DSN)$/i;
/**
 * A value that is itself a credential: a JWT, or a Bearer/Basic credential. Linear like the
 * redaction patterns (a JWT only starts at the start of a run), since it runs on input in the workflow.
 */
const SECRET_VALUE = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{2,}\.|\b(?:Bearer|Basic)\s{1,16}[A-Za-z0-9._~+/-]{8,}/;
/** A name that names a variable (`tokenEnv`, `webhookUrlEnv`, `TOKEN_ENV`) holds a name, not a secret. */
const NAMES_A_VARIABLE = /(?:_ENV|Env)$/;
/** Longer names are not names: not worth a regex's time. */
const MAX_NAME = 128;

// The patterns stay private: the workflow sandbox shares this module and freezes its exports (see
// src/workflows/preload.ts).
export const nameLooksSecret = (name: string) => SECRET_NAME.test(name);
export const valueIsSecret = (value: string) => SECRET_VALUE.test(value);

export function isSecretName(name: string): boolean {
  return name.length <= MAX_NAME && nameLooksSecret(name) && !NAMES_A_VARIABLE.test(name);
}

/**
 * Variables that loops named as holding secrets (`probes.*.tokenEnv`, `handoff.webhookUrlEnv`),
 * whatever their names look like. Kept for the worker's lifetime: once a loop has said a variable
 * is a token, every later output of every loop masks its value.
 */
const namedSecretEnv = new Set<string>();

/** The variables a loop's input names as holding secrets. */
export function secretEnvOf(probes: ProbesConfig, webhookUrlEnv: string | null = null): string[] {
  return [probes.jwt?.tokenEnv, probes.websocket?.tokenEnv, webhookUrlEnv].filter((n): n is string => Boolean(n));
}

export function rememberSecretEnv(names: Iterable<string | null | undefined>): void {
  for (const name of names) if (name) namedSecretEnv.add(name);
}

export function secretEnvNames(): string[] {
  return [...namedSecretEnv];
}

/** `scheme://user:password@host`: the password part (a match's group 2), anywhere in text. */
const URL_USERINFO = /(:\/\/[^\s/?#@:]*:)([^\s/?#@]+)@/g;

/** The text with every password inside a URL replaced by `mask`. */
export function maskUrlPasswords(text: string, mask: string): string {
  return text.replace(URL_USERINFO, (_m, before: string) => `${before}${mask}@`);
}

/**
 * The worker's own secret values: variables named like secrets or named by a loop, and the
 * passwords inside URLs in any variable (`DATABASE_URL=postgres://app:pw@db/app`).
 */
export function workerSecretValues(env: Record<string, string | undefined>): string[] {
  const values: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (isSecretName(name) || namedSecretEnv.has(name)) values.push(value);
    if (value.includes('://')) {
      for (const m of value.matchAll(URL_USERINFO)) values.push(m[2], safeDecode(m[2]));
    }
  }
  return values;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
