/**
 * The loop's input: defaults and validation. Pure code, imported by the workflow (bad input from the
 * Web UI fails the loop at once) and by the CLI (bad input never reaches Temporal).
 */
import { msToNumber } from '@temporalio/common/lib/time';
import { SECRET_NAME, SECRET_VALUE } from '../secrets';
import type { DeployConfig, LoopConfig, ProbesConfig } from './types';

export * from './types';

/** Bad loop input: `field` is the dotted path of the offending field. */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads one object-valued field; absent or null gives `{}` so defaults apply. */
function section(obj: Json, key: string, path: string): Json {
  const v = obj[key];
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new ConfigError(path, `must be an object, got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function str(obj: Json, key: string, path: string, fallback: string): string;
function str(obj: Json, key: string, path: string, fallback: null): string | null;
function str(obj: Json, key: string, path: string, fallback: string | null): string | null {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw new ConfigError(path, `must be a string, got ${describe(v)}`);
  return v;
}

function requiredStr(obj: Json, key: string, path: string): string {
  const v = str(obj, key, path, null);
  if (v === null || v.trim() === '') throw new ConfigError(path, 'is required and must be a non-empty string');
  return v;
}

/** A Temporal duration string ("90s", "5m", "4h") or a number of milliseconds; must be positive. */
function duration(obj: Json, key: string, path: string, fallback: string): string {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return `${v}ms`;
  if (typeof v === 'string') {
    let ms: number;
    try {
      ms = msToNumber(v as Parameters<typeof msToNumber>[0]);
    } catch {
      ms = NaN;
    }
    if (Number.isFinite(ms) && ms > 0) return v;
  }
  throw new ConfigError(path, `must be a duration like "90s", "5m" or "4h", got ${describe(v)}`);
}

export function durationMs(d: string): number {
  return msToNumber(d as Parameters<typeof msToNumber>[0]);
}

function url(obj: Json, key: string, path: string, schemes: string[]): string | null {
  const v = str(obj, key, path, null);
  if (v === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new ConfigError(path, `must be an absolute URL, got ${describe(v)}`);
  }
  if (!schemes.includes(parsed.protocol.replace(/:$/, ''))) {
    throw new ConfigError(path, `must use ${schemes.join(' or ')}, got ${parsed.protocol.replace(/:$/, '')}`);
  }
  return v;
}

function int(obj: Json, key: string, path: string, fallback: number, min: number, max: number): number {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(path, `must be a whole number from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

/** Refuses names and values that are secrets (src/secrets.ts): they would be stored in workflow history with the input. */
function envMap(obj: Json, key: string, path: string): Record<string, string> {
  const m = section(obj, key, path);
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string') throw new ConfigError(`${path}.${k}`, `must be a string, got ${describe(v)}`);
    if (SECRET_NAME.test(k) || SECRET_VALUE.test(v)) {
      throw new ConfigError(
        `${path}.${k}`,
        'looks like a secret, and the loop input is kept in workflow history: set it in the worker\'s environment instead (the suite inherits it)',
      );
    }
  }
  return m as Record<string, string>;
}

function stringList(obj: Json, key: string, path: string, fallback: string[]): string[] {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '')) {
    throw new ConfigError(path, 'must be a list of non-empty strings');
  }
  return v as string[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function envName(obj: Json, key: string, path: string): string | null {
  const v = str(obj, key, path, null);
  if (v !== null && !ENV_NAME.test(v)) {
    throw new ConfigError(path, `must name an environment variable (letters, digits, _), got ${describe(v)}`);
  }
  return v;
}

function rejectUnknown(obj: Json, path: string, known: string[]): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      throw new ConfigError(path ? `${path}.${k}` : k, `is not a known field (known: ${known.join(', ')})`);
    }
  }
}

const DEPLOY_KINDS = ['none', 'command', 'cloud-run'] as const;

function parseDeploy(input: Json): DeployConfig {
  const d = section(input, 'deploy', 'deploy');
  const kind = str(d, 'kind', 'deploy.kind', 'none');
  switch (kind) {
    case 'none':
      rejectUnknown(d, 'deploy', ['kind']);
      return { kind };
    case 'command':
      rejectUnknown(d, 'deploy', ['kind', 'command', 'timeout']);
      return {
        kind,
        command: requiredStr(d, 'command', 'deploy.command'),
        timeout: duration(d, 'timeout', 'deploy.timeout', '15m'),
      };
    case 'cloud-run': {
      rejectUnknown(d, 'deploy', ['kind', 'project', 'region', 'service', 'image', 'endpoint', 'timeout']);
      const endpoint = str(d, 'endpoint', 'deploy.endpoint', null);
      if (endpoint !== null && !/^[^\s:/]+:\d{1,5}$/.test(endpoint)) {
        throw new ConfigError('deploy.endpoint', `must be host:port, got ${describe(endpoint)}`);
      }
      return {
        kind,
        project: requiredStr(d, 'project', 'deploy.project'),
        region: requiredStr(d, 'region', 'deploy.region'),
        service: requiredStr(d, 'service', 'deploy.service'),
        image: requiredStr(d, 'image', 'deploy.image'),
        endpoint,
        timeout: duration(d, 'timeout', 'deploy.timeout', '10m'),
      };
    }
    default:
      throw new ConfigError('deploy.kind', `must be one of ${DEPLOY_KINDS.join(', ')}, got ${describe(kind)}`);
  }
}

function parseProbes(input: Json, verifyUrl: string | null): ProbesConfig {
  const p = section(input, 'probes', 'probes');
  rejectUnknown(p, 'probes', ['websocket', 'jwt', 'http']);
  const ws = p.websocket == null ? null : section(p, 'websocket', 'probes.websocket');
  const jwt = p.jwt == null ? null : section(p, 'jwt', 'probes.jwt');
  const http = p.http == null ? null : section(p, 'http', 'probes.http');
  if (ws) rejectUnknown(ws, 'probes.websocket', ['url', 'subprotocols', 'tokenEnv']);
  if (jwt) rejectUnknown(jwt, 'probes.jwt', ['tokenEnv', 'jwksUrl', 'issuer', 'audience']);
  if (http) rejectUnknown(http, 'probes.http', ['url']);
  const httpUrl = http ? url(http, 'url', 'probes.http.url', ['http', 'https']) : null;
  return {
    websocket: ws && {
      url: url(ws, 'url', 'probes.websocket.url', ['ws', 'wss']) ?? requiredStr(ws, 'url', 'probes.websocket.url'),
      subprotocols: stringList(ws, 'subprotocols', 'probes.websocket.subprotocols', []),
      tokenEnv: envName(ws, 'tokenEnv', 'probes.websocket.tokenEnv'),
    },
    jwt: jwt && {
      tokenEnv: envName(jwt, 'tokenEnv', 'probes.jwt.tokenEnv') ?? requiredStr(jwt, 'tokenEnv', 'probes.jwt.tokenEnv'),
      jwksUrl: url(jwt, 'jwksUrl', 'probes.jwt.jwksUrl', ['http', 'https']),
      issuer: str(jwt, 'issuer', 'probes.jwt.issuer', null),
      audience: str(jwt, 'audience', 'probes.jwt.audience', null),
    },
    http: httpUrl ? { url: httpUrl } : verifyUrl && (ws || jwt) ? { url: verifyUrl } : null,
  };
}

/**
 * Applies defaults to the loop's input and validates it. Throws ConfigError naming the first bad
 * field. Only `suite.command` is required.
 */
export function parseLoopConfig(input: unknown): LoopConfig {
  if (!isObject(input)) {
    throw new ConfigError('input', `must be a JSON object with at least suite.command, got ${describe(input)}`);
  }
  rejectUnknown(input, '', ['name', 'suite', 'deploy', 'verify', 'probes', 'handoff', 'infra', 'maxCycles']);
  const suite = section(input, 'suite', 'suite');
  rejectUnknown(suite, 'suite', ['command', 'cwd', 'env', 'timeout', 'junitPath', 'rerunFailed']);
  const verify = section(input, 'verify', 'verify');
  rejectUnknown(verify, 'verify', ['url', 'expectStatus', 'timeout', 'interval']);
  const handoff = section(input, 'handoff', 'handoff');
  rejectUnknown(handoff, 'handoff', ['webhookUrl', 'webhookUrlEnv', 'command', 'remindEvery']);
  const infra = section(input, 'infra', 'infra');
  rejectUnknown(infra, 'infra', ['recheckEvery', 'giveUpAfter']);

  const verifyUrl = url(verify, 'url', 'verify.url', ['http', 'https']);
  return {
    name: str(input, 'name', 'name', 'test-deploy-loop'),
    suite: {
      command: requiredStr(suite, 'command', 'suite.command'),
      cwd: str(suite, 'cwd', 'suite.cwd', '.'),
      env: envMap(suite, 'env', 'suite.env'),
      timeout: duration(suite, 'timeout', 'suite.timeout', '30m'),
      junitPath: str(suite, 'junitPath', 'suite.junitPath', null),
      rerunFailed: str(suite, 'rerunFailed', 'suite.rerunFailed', null),
    },
    deploy: parseDeploy(input),
    verify: {
      url: verifyUrl,
      expectStatus: int(verify, 'expectStatus', 'verify.expectStatus', 200, 100, 599),
      timeout: duration(verify, 'timeout', 'verify.timeout', '10m'),
      interval: duration(verify, 'interval', 'verify.interval', '10s'),
    },
    probes: parseProbes(input, verifyUrl),
    handoff: {
      webhookUrl: url(handoff, 'webhookUrl', 'handoff.webhookUrl', ['http', 'https']),
      webhookUrlEnv: envName(handoff, 'webhookUrlEnv', 'handoff.webhookUrlEnv'),
      command: str(handoff, 'command', 'handoff.command', null),
      remindEvery: duration(handoff, 'remindEvery', 'handoff.remindEvery', '4h'),
    },
    infra: {
      recheckEvery: duration(infra, 'recheckEvery', 'infra.recheckEvery', '5m'),
      giveUpAfter: duration(infra, 'giveUpAfter', 'infra.giveUpAfter', '24h'),
    },
    maxCycles: int(input, 'maxCycles', 'maxCycles', 10, 1, 1000),
  };
}
