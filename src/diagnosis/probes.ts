/**
 * Live probes run while diagnosing: what the suite's JWT really is, which WebSocket handshakes the
 * server accepts (with and without the configured subprotocols and the Bearer prefix), and whether
 * the service is healthy. Results are small, redacted JSON: the token appears only as a fingerprint.
 */
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import WebSocket from 'ws';
import type { JwtProbeConfig, ProbesConfig, WebSocketProbeConfig } from '../config/types';
import { clipText, fingerprintToken, redactDeep } from './redact';
import { checkHttp } from '../http-check';
import type { HttpProbeResult, JwtProbeResult, ProbeEvidence, WebSocketAttempt, WebSocketProbeResult } from './types';

export interface ProbeOptions {
  signal?: AbortSignal;
  /** Bound on each probe step (one handshake, one HTTP request, the JWKS fetch). Default 5 s. */
  timeoutMs?: number;
}

/** Clock difference tolerated on exp/nbf/iat, as most JWT libraries do. */
const CLOCK_SKEW_S = 60;
/** How long an opened socket must stay open without an error message to count as accepted. */
const SETTLE_MS = 750;
const MAX_TEXT = 300;

// Server answers are clipped before the final redaction: never inside a token.
const short = (text: string) => clipText(text, MAX_TEXT, '…');
const iso = (seconds: number | undefined) => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : null);

function ago(seconds: number): string {
  const s = Math.abs(seconds);
  return s < 120 ? `${Math.round(s)} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

/** An attempt before the server answered: what was offered, nothing yet accepted. */
export function unansweredAttempt(label: string, subprotocols: string[], authHeader: WebSocketAttempt['authHeader']): WebSocketAttempt {
  return { label, subprotocols, authHeader, accepted: false, status: null, protocol: null, closeCode: null, closeReason: null, firstMessage: null, error: null, ms: 0 };
}

export async function inspectJwt(config: JwtProbeConfig, raw: string | undefined, opts: ProbeOptions = {}): Promise<JwtProbeResult> {
  const result: JwtProbeResult = {
    tokenEnv: config.tokenEnv,
    present: Boolean(raw),
    fingerprint: raw ? fingerprintToken(raw) : null,
    wellFormed: false,
    alg: null,
    kid: null,
    issuer: null,
    audience: [],
    expiresAt: null,
    notBefore: null,
    issuedAt: null,
    signature: 'not-checked',
    problems: [],
    valid: false,
  };
  if (!raw) {
    result.problems.push(`${config.tokenEnv} is not set on the worker`);
    return result;
  }
  const token = raw.replace(/^\s*Bearer\s+/i, '').trim();
  try {
    const header = decodeProtectedHeader(token);
    const claims = decodeJwt(token);
    result.wellFormed = true;
    result.alg = header.alg ?? null;
    result.kid = header.kid ?? null;
    result.issuer = claims.iss ?? null;
    result.audience = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    result.expiresAt = iso(claims.exp);
    result.notBefore = iso(claims.nbf);
    result.issuedAt = iso(claims.iat);
    const now = Date.now() / 1000;
    if (header.alg === 'none') result.problems.push('alg is "none": the token is unsigned');
    if (claims.exp !== undefined && claims.exp < now - CLOCK_SKEW_S) result.problems.push(`expired ${ago(now - claims.exp)} ago (exp ${result.expiresAt})`);
    if (claims.nbf !== undefined && claims.nbf > now + CLOCK_SKEW_S) result.problems.push(`not valid for another ${ago(claims.nbf - now)} (nbf ${result.notBefore})`);
    if (claims.iat !== undefined && claims.iat > now + CLOCK_SKEW_S) result.problems.push(`issued ${ago(claims.iat - now)} in the future: clocks differ`);
    if (config.issuer && claims.iss !== config.issuer) result.problems.push(`issuer is ${claims.iss ?? 'missing'}, expected ${config.issuer}`);
    if (config.audience && !result.audience.includes(config.audience)) {
      result.problems.push(`audience is ${result.audience.join(', ') || 'missing'}, expected ${config.audience}`);
    }
  } catch (e) {
    result.problems.push(`not a JWT (${token.split('.').length - 1} dots): ${(e as Error).message}`);
    return result;
  }
  if (config.jwksUrl) {
    try {
      const jwks = createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: opts.timeoutMs ?? 5000 });
      await jwtVerify(token, jwks, { clockTolerance: CLOCK_SKEW_S });
      result.signature = 'verified';
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      // jose checks claims only after the signature: a claim error means the signature held. The
      // claims already have their own messages above.
      if (code === 'ERR_JWT_EXPIRED' || code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') result.signature = 'verified';
      else {
        result.signature = 'invalid';
        result.problems.push(`signature not verified against ${config.jwksUrl}: ${code || (e as Error).message}`);
      }
    }
  }
  result.valid = result.problems.length === 0;
  return result;
}

/** An error-shaped first message (`{"type":"error_message",...}`, "error: ..."). */
function isErrorMessage(text: string): boolean {
  return /"(type|event)"\s*:\s*"[^"]*error|"error(_code)?"\s*:|^\s*(error|unauthori[sz]ed|forbidden)\b/i.test(text);
}

export function probeWebSocketAttempt(
  url: string,
  subprotocols: string[],
  authorization: WebSocketAttempt['authHeader'],
  token: string | null,
  opts: ProbeOptions,
): Promise<WebSocketAttempt> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const bare = token?.replace(/^\s*Bearer\s+/i, '') ?? '';
  const headers: Record<string, string> = {};
  if (authorization === 'bearer') headers.Authorization = `Bearer ${bare}`;
  if (authorization === 'raw') headers.Authorization = bare;
  const label = `${subprotocols.length ? `subprotocols ${subprotocols.join(', ')}` : 'no subprotocol'}, ${
    authorization === 'bearer' ? 'Authorization: Bearer <token>' : authorization === 'raw' ? 'Authorization: <token> (no Bearer)' : 'no Authorization'
  }`;
  const attempt = unansweredAttempt(label, subprotocols, authorization);
  const started = Date.now();
  return new Promise((resolve) => {
    const ws = new WebSocket(url, subprotocols, { headers, handshakeTimeout: timeoutMs });
    let settle: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs + SETTLE_MS);
    const onAbort = () => finish('cancelled');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let done = false;
    function finish(error: string | null, accepted = false): void {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearTimeout(settle);
      opts.signal?.removeEventListener('abort', onAbort);
      attempt.error = error;
      attempt.accepted = accepted;
      attempt.ms = Date.now() - started;
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      resolve(attempt);
    }
    ws.on('unexpected-response', (req, res) => {
      attempt.status = res.statusCode ?? null;
      res.resume();
      req.destroy();
      finish(null);
    });
    ws.on('open', () => {
      attempt.status = 101;
      attempt.protocol = ws.protocol;
      settle = setTimeout(() => finish(null, true), SETTLE_MS);
    });
    ws.on('message', (data: WebSocket.RawData) => {
      if (attempt.firstMessage !== null) return;
      const text = data.toString();
      attempt.firstMessage = short(text);
      // An error welcome is followed by the close that tells the code and reason: wait for it.
      if (!isErrorMessage(text)) finish(null, true);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      attempt.closeCode = code;
      attempt.closeReason = reason.toString() || null;
      finish(null);
    });
    ws.on('error', (e: Error) => finish(e.message));
  });
}

export async function probeWebSocket(config: WebSocketProbeConfig, token: string | null, opts: ProbeOptions = {}): Promise<WebSocketProbeResult> {
  const configuredAuth = token ? 'bearer' : 'none';
  const variants: [string[], WebSocketAttempt['authHeader']][] = [[config.subprotocols, configuredAuth]];
  if (config.subprotocols.length > 0) variants.push([[], configuredAuth]);
  if (token) variants.push([config.subprotocols, 'raw']);
  const attempts: WebSocketAttempt[] = [];
  // One after the other: a server that limits connections per client must not see the probe as a burst.
  for (const [protocols, auth] of variants) attempts.push(await probeWebSocketAttempt(config.url, protocols, auth, token, opts));
  return { url: config.url, attempts };
}

export async function probeHttp(url: string, opts: ProbeOptions = {}): Promise<HttpProbeResult> {
  const check = await checkHttp(url, { timeoutMs: opts.timeoutMs ?? 5000, signal: opts.signal });
  return { url, ...check, healthy: check.status !== null && check.status >= 200 && check.status < 400 };
}

/** Runs the configured probes (concurrently) and returns their redacted evidence. */
export async function runProbes(config: ProbesConfig, env: NodeJS.ProcessEnv, opts: ProbeOptions = {}): Promise<ProbeEvidence> {
  const tokenEnv = config.websocket?.tokenEnv ?? config.jwt?.tokenEnv ?? null;
  const wsToken = tokenEnv ? (env[tokenEnv] ?? null) : null;
  const jwtToken = config.jwt ? env[config.jwt.tokenEnv] : undefined;
  const [jwt, websocket, http] = await Promise.all([
    config.jwt ? inspectJwt(config.jwt, jwtToken, opts) : null,
    config.websocket ? probeWebSocket(config.websocket, wsToken, opts) : null,
    config.http ? probeHttp(config.http.url, opts) : null,
  ]);
  const secrets = [wsToken, jwtToken].filter((t): t is string => Boolean(t));
  return redactDeep({ at: new Date().toISOString(), jwt, websocket, http }, secrets);
}
