/**
 * The loop's input, declared once: types (./types.ts), defaults, unknown-key rejection, the messages
 * bad input gets, duration bounds and the JSON Schema (`tdl schema`) all come from here.
 * Pure code: the workflow imports it.
 */
import ms, { type StringValue } from 'ms';
import { z } from 'zod';
import { PROMOTABLE_SERVICE_MAX, TAG_AND_SERVICE_MAX } from '../deploy/candidate';
import { nameLooksSecret, valueIsSecret } from '../secrets';

/** Describes a bad value in an error message, briefly (the message may end up in workflow history). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

type Issue = { input?: unknown };
const REQUIRED = 'is required and must be a non-empty string';
/** A missing required string reaches the check as undefined. */
const mustBeString = (iss: Issue) => (iss.input === undefined ? REQUIRED : `must be a string, got ${describe(iss.input)}`);

/** In JSON input, null is how people write "not set": the default applies. */
const unset = (v: unknown) => v ?? undefined;

function withDefault<T extends z.ZodType>(schema: T, fallback: z.util.NoUndefined<z.input<T>>) {
  return z.preprocess(unset, schema.default(fallback as never));
}

const text = () => z.string({ error: mustBeString });
const optionalText = () => text().nullable().default(null);
const nonEmptyText = () => text().refine((s) => s.trim() !== '', { error: REQUIRED });
const requiredText = () => z.preprocess(unset, nonEmptyText());
/** A command given inline: null when the input names one instead (`use`). */
const inlineCommand = () => nonEmptyText().nullable().default(null);

function wholeNumber(min: number, max: number, fallback: number) {
  const error = (iss: Issue) => `must be a whole number from ${min} to ${max}, got ${describe(iss.input)}`;
  return withDefault(z.int({ error }).min(min, { error }).max(max, { error }), fallback);
}

function url(schemes: string[]) {
  return text()
    .superRefine((v, ctx) => {
      let parsed: URL;
      try {
        parsed = new URL(v);
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be an absolute URL, got ${describe(v)}` });
        return;
      }
      const scheme = parsed.protocol.replace(/:$/, '');
      if (!schemes.includes(scheme)) ctx.addIssue({ code: 'custom', message: `must use ${schemes.join(' or ')}, got ${scheme}` });
    })
    .meta({ format: 'uri' });
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = () =>
  text().regex(ENV_NAME, { error: (iss) => `must name an environment variable (letters, digits, _), got ${describe(iss.input)}` });

/** A name in the worker's command policy (see src/policy.ts). */
const COMMAND_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const commandName = () =>
  text().regex(COMMAND_NAME, { error: (iss) => `must be a name from the worker's command policy (letters, digits, . _ -), got ${describe(iss.input)}` });

/** A strict object: unknown keys are refused with the known ones listed. */
export function section<S extends z.core.$ZodLooseShape>(shape: S, notAnObject = 'must be an object') {
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys' ? `is not a known field (known: ${Object.keys(shape).join(', ')})` : `${notAnObject}, got ${describe(iss.input)}`,
  });
}

// Durations ------------------------------------------------------------------------------------

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
/** Node's timers overflow above 2^31-1 ms (about 24.8 days): an activity's own wait must stay below. */
const TIMER_LIMIT_MS = 2 ** 31 - 1;

interface DurationBounds {
  min: number;
  max: number;
}
/** Timeouts of the steps (suite, deploy, verify): Node timers on the worker. */
const STEP_TIMEOUT: DurationBounds = { min: SECOND, max: TIMER_LIMIT_MS };
/** Durable waits (reminders, rechecks, giving up): each one is workflow history, so not too often. */
const DURABLE_WAIT: DurationBounds = { min: MINUTE, max: 365 * DAY };

const showMs = (n: number) => (n === TIMER_LIMIT_MS ? `${n}ms (about 24.8d)` : ms(n));
const range = (b: DurationBounds) => `from ${showMs(b.min)} to ${showMs(b.max)}`;

/** The units `ms` (Temporal's own duration parser) understands, in any letter case. */
const UNITS = 'milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y';
const caseless = (pattern: string) => pattern.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);
/** A positive duration string ms parses; written without flags so the JSON Schema carries it as is. */
const DURATION = new RegExp(`^\\d*\\.?\\d+ *(${caseless(UNITS)})?$`);

/** Milliseconds of a duration string, NaN when ms cannot read it. */
function parseMs(s: string): number {
  try {
    return ms(s as StringValue);
  } catch {
    return NaN;
  }
}

/**
 * How durations are checked. `bounded`: per field (timeouts below Node's timer limit, durable waits of
 * at least a minute). `legacy`: any positive duration, as before the bounds, so histories of loops
 * started then replay unchanged.
 */
export type DurationRule = 'bounded' | 'legacy';

/**
 * A duration: a string ms reads ("90s", "5m", "4h") or a whole number of milliseconds. Parsed as the
 * string it was written (a number becomes "<n>ms"), converted where used with durationMs().
 */
function duration(rule: DurationRule, bounds: DurationBounds, fallback: string, description: string) {
  const format = (iss: Issue) => `must be a duration like "90s", "5m" or "4h" (or a whole number of milliseconds), got ${describe(iss.input)}`;
  const limits = rule === 'bounded' ? bounds : { min: Number.MIN_VALUE, max: Infinity };
  const outside = (iss: Issue) => `must be a duration ${range(bounds)}, got ${describe(iss.input)}`;
  const string = rule === 'bounded' ? z.string().regex(DURATION, { error: format }) : z.string();
  const number =
    rule === 'bounded'
      ? z.int({ error: outside }).min(bounds.min, { error: outside }).max(bounds.max, { error: outside })
      : z.number({ error: format }).positive({ error: format });
  return z.preprocess(
    unset,
    z
      .union([string, number], { error: format })
      .default(fallback)
      .transform((v, ctx) => {
        if (typeof v === 'number') return `${v}ms`;
        const n = parseMs(v);
        if (!(n > 0)) ctx.addIssue({ code: 'custom', message: format({ input: v }) });
        else if (n < limits.min || n > limits.max) ctx.addIssue({ code: 'custom', message: outside({ input: v }) });
        return v;
      }),
  ).meta({ description: `${description}; ${range(bounds)}` });
}

/** Milliseconds of a parsed duration (a string from the parsed config). */
export function durationMs(d: string): number {
  const n = parseMs(d);
  if (!(n > 0)) throw new TypeError(`invalid duration: ${describe(d)}`);
  return n;
}

// Secrets in the input ----------------------------------------------------------------------------

/** Refuses names and values that are secrets (src/secrets.ts): they would be stored in workflow history with the input. */

const envMap = () =>
  z.record(z.string(), text()).superRefine((env, ctx) => {
    for (const [k, v] of Object.entries(env)) {
      if (nameLooksSecret(k) || valueIsSecret(v)) {
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: "looks like a secret, and the loop input is kept in workflow history: set it in the worker's environment instead (the suite inherits it)",
        });
      }
    }
  });

// Commands: inline, or named in the worker's policy ------------------------------------------------

/**
 * A command given inline (`command`) or by name (`use`, from the worker's command policy): exactly
 * one when `required`, at most one otherwise. With `use`, the policy also sets the `fromPolicy` fields,
 * so the input must not give them. Checked on the raw input, before defaults fill those fields in.
 */
function commandOrUse(where: string, opts: { required: boolean; fromPolicy: string[] }) {
  return (raw: unknown, ctx: z.core.$RefinementCtx) => {
    if (typeof raw !== 'object' || raw === null) return raw;
    const r = raw as Record<string, unknown>;
    const named = r.use != null;
    if (named && r.command != null) {
      ctx.addIssue({ code: 'custom', path: ['use'], input: r.use, message: `give ${where}.command or ${where}.use, not both` });
    } else if (!named && r.command == null && opts.required) {
      ctx.addIssue({ code: 'custom', path: ['command'], input: r.command, message: `${REQUIRED} (or give ${where}.use: a name from the worker's command policy)` });
    }
    if (named) {
      for (const k of opts.fromPolicy.filter((k) => r[k] != null)) {
        ctx.addIssue({ code: 'custom', path: [k], input: r[k], message: `cannot be given with ${where}.use: the worker's command policy sets it` });
      }
    }
    return raw;
  };
}

/** JSON Schema for "exactly one of command and use" (null counts as not given). */
const ONE_OF_COMMAND_OR_USE = {
  oneOf: [
    { required: ['command'], properties: { command: { type: 'string' } } },
    { required: ['use'], properties: { use: { type: 'string' } } },
  ],
};

// The loop's input --------------------------------------------------------------------------------

const deployKinds = ['none', 'command', 'cloud-run'] as const;
export const DEPLOY_STRATEGIES = ['direct', 'verify-then-promote'] as const;

function deploySchema(rule: DurationRule) {
  const timeout = (fallback: string) =>
    duration(rule, STEP_TIMEOUT, fallback, 'bound on the deploy');
  const byCommand = section({
    kind: z.literal('command'),
    command: inlineCommand().meta({ description: 'run under /bin/sh -c with COMMIT set; exactly one of command and use' }),
    use: commandName().nullable().default(null).meta({ description: "a deploy command named in the worker's command policy" }),
    timeout: timeout('15m'),
    // A script deploys and routes traffic its own way: the loop cannot hold its revision back from traffic.
    strategy: withDefault(
      z.literal('direct', {
        error: (iss) =>
          `must be "direct" for deploy.kind "command", got ${describe(iss.input)}: "verify-then-promote" needs deploy.kind "cloud-run" (a deploy script cannot be held back from traffic)`,
      }),
      'direct',
    ).meta({ description: 'how a fix reaches traffic; a command deploy is always direct' }),
  })
    .superRefine((d, ctx) => {
      if (d.command === null && d.use === null) ctx.addIssue({ code: 'custom', path: ['command'], message: `${REQUIRED} (or give deploy.use: a name from the worker's command policy)` });
      if (d.command !== null && d.use !== null) ctx.addIssue({ code: 'custom', path: ['use'], message: 'give deploy.command or deploy.use, not both' });
    })
    .meta(ONE_OF_COMMAND_OR_USE);
  const cloudRun = section({
    kind: z.literal('cloud-run'),
    project: requiredText().meta({ description: 'Google Cloud project' }),
    region: requiredText().meta({ description: 'Cloud Run region, e.g. us-central1' }),
    service: requiredText().meta({ description: 'Cloud Run service' }),
    image: requiredText().meta({ description: 'container image; {commit} is replaced by the commit being deployed' }),
    endpoint: text()
      .regex(/^[^\s:/]+:\d{1,5}$/, { error: (iss) => `must be host:port, got ${describe(iss.input)}` })
      .nullable()
      .default(null)
      .meta({ description: 'host:port of a plaintext Cloud Run Admin API stand-in; for local testing only' }),
    logsEndpoint: text()
      .regex(/^[^\s:/]+:\d{1,5}$/, { error: (iss) => `must be host:port, got ${describe(iss.input)}` })
      .nullable()
      .default(null)
      .meta({ description: "host:port of a plaintext Cloud Logging API stand-in (the service's logs); for local testing only" }),
    timeout: timeout('10m'),
    strategy: withDefault(z.enum(DEPLOY_STRATEGIES, { error: (iss) => `must be one of ${DEPLOY_STRATEGIES.join(', ')}, got ${describe(iss.input)}` }), 'direct').meta({
      description:
        'direct: the fix takes all traffic at once. verify-then-promote: it is deployed as a tagged revision with no traffic, verified on the tag\'s URL, and only then given all traffic',
    }),
  });
  return z.preprocess(
    unset,
    z
      .discriminatedUnion('kind', [section({ kind: z.literal('none').default('none') }), byCommand, cloudRun], {
        error: (iss) =>
          iss.code === 'invalid_union'
            ? `must be one of ${deployKinds.join(', ')}, got ${describe((iss.input as { kind?: unknown } | undefined)?.kind)}`
            : `must be an object, got ${describe(iss.input)}`,
      })
      .prefault({})
      .meta({ description: 'how a fix is deployed: not at all, by a command (with COMMIT set), or to Cloud Run' }),
  );
}

/** verify-then-promote needs something to verify the candidate with; verify.suite needs a candidate. */
function promotionProblems(
  c: { deploy: { kind: string; strategy?: string; service?: string }; verify: { url: string | null; suite: boolean } },
  ctx: z.core.$RefinementCtx,
): void {
  const promotes = c.deploy.kind === 'cloud-run' && c.deploy.strategy === 'verify-then-promote';
  if (promotes && (c.deploy.service ?? '').length > PROMOTABLE_SERVICE_MAX) {
    ctx.addIssue({
      code: 'custom',
      path: ['deploy', 'service'],
      message: `is longer than ${PROMOTABLE_SERVICE_MAX} characters: Cloud Run allows ${TAG_AND_SERVICE_MAX} for a revision tag and the service name together, and "verify-then-promote" needs a tag`,
    });
  }
  if (promotes && !c.verify.url && !c.verify.suite) {
    ctx.addIssue({ code: 'custom', path: ['deploy', 'strategy'], message: '"verify-then-promote" needs verify.url or verify.suite: true, to check the candidate before it gets traffic' });
  }
  if (c.verify.suite && !promotes) {
    ctx.addIssue({ code: 'custom', path: ['verify', 'suite'], message: 'runs the failing tests against a candidate revision: it needs deploy.kind "cloud-run" with deploy.strategy "verify-then-promote"' });
  }
}

/** The loop input's schema; `rule` says how durations are checked (see DurationRule). */
export function loopInputSchema(rule: DurationRule) {
  const suite = section({
    command: inlineCommand().meta({ description: 'the suite, under /bin/sh -c; must write JUnit XML to $JUNIT_XML. Exactly one of command and use' }),
    use: commandName().nullable().default(null).meta({ description: "a suite named in the worker's command policy (which then sets command, cwd, junitPath and rerunFailed)" }),
    cwd: withDefault(text(), '.').meta({ description: "where the suite runs (relative to the worker's folder)" }),
    env: withDefault(envMap(), {}).meta({ description: 'extra environment for the suite; no secrets (the input is kept in workflow history)' }),
    timeout: duration(rule, STEP_TIMEOUT, '30m', 'bound on one suite run'),
    junitPath: optionalText().meta({ description: 'for runners that write their report elsewhere (relative to cwd)' }),
    rerunFailed: optionalText().meta({
      description:
        'a command that reruns only the failed tests once: their ids (classname::name, as in the JUnit report) in $FAILED_TESTS (one a line) and $FAILED_TESTS_FILE; it writes JUnit to $JUNIT_XML; tests that pass on the rerun count as flaky (no rerun when the ids exceed 64 KiB)',
    }),
    selectCommand: optionalText().meta({
      description:
        "a command that runs only the tests in $FAILED_TESTS (as for rerunFailed), writing JUnit to $JUNIT_XML: after a verified fix the previous cycle's failures run first (rerunFailed when not given)",
    }),
  }).meta(ONE_OF_COMMAND_OR_USE);

  const verify = section({
    url: url(['http', 'https']).nullable().default(null).meta({ description: 'health URL checked after each deploy; none: a deploy counts as verified' }),
    expectStatus: wholeNumber(100, 599, 200).meta({ description: 'the status that means healthy' }),
    timeout: duration(rule, STEP_TIMEOUT, '10m', 'how long to wait for staging to be healthy'),
    interval: duration(rule, STEP_TIMEOUT, '10s', 'between health checks'),
    logsCommand: inlineCommand().meta({
      description:
        "prints the service's recent error logs, read when a deploy or verification fails (COMMIT, REVISION and SINCE, the deploy's start in RFC 3339, are set); for command deploys, or instead of Cloud Logging",
    }),
    suite: withDefault(z.boolean({ error: (iss) => `must be true or false, got ${describe(iss.input)}` }), false).meta({
      description:
        "with deploy.strategy verify-then-promote: the previous cycle's failing tests also run against the candidate (its URL in $STAGING_URL) before it gets traffic",
    }),
  });

  const probes = section({
    websocket: section({
      url: z.preprocess(unset, url(['ws', 'wss'])).meta({ description: 'ws:// or wss:// URL to open' }),
      subprotocols: withDefault(z.array(text().min(1, { error: 'must be a non-empty string' }), { error: 'must be a list of non-empty strings' }), []).meta({
        description: 'subprotocols to offer (Sec-WebSocket-Protocol)',
      }),
      tokenEnv: envName().nullable().default(null).meta({ description: 'the worker environment variable holding the token (never the token)' }),
    })
      .nullable()
      .prefault(null)
      .meta({ description: 'WebSocket handshake probe during diagnosis' }),
    jwt: section({
      tokenEnv: z.preprocess(unset, envName()).meta({ description: 'the worker environment variable holding the JWT' }),
      jwksUrl: url(['http', 'https']).nullable().default(null).meta({ description: 'JWKS to check the signature against' }),
      issuer: optionalText().meta({ description: 'expected iss claim' }),
      audience: optionalText().meta({ description: 'expected aud claim' }),
    })
      .nullable()
      .prefault(null)
      .meta({ description: 'JWT probe during diagnosis (expiry, claims, signature against jwksUrl)' }),
    http: section({ url: url(['http', 'https']).nullable().default(null).meta({ description: 'the URL to probe' }) })
      .nullable()
      .default(null)
      .meta({ description: 'HTTP health probe during diagnosis (default: verify.url when another probe is set)' }),
  });

  const handoff = section({
    webhookUrl: url(['http', 'https']).nullable().default(null).meta({ description: 'Slack-compatible webhook (it is kept in history: prefer webhookUrlEnv)' }),
    webhookUrlEnv: envName().nullable().default(null).meta({
      description: "the worker's environment variable holding the webhook URL (used instead of webhookUrl; unset on the worker, the notification fails NotifyRejected naming it)",
    }),
    command: inlineCommand().meta({ description: 'a command that gets the hand-off document (JSON) on stdin and in $TDL_HANDOFF_FILE; the infrastructure team\'s message and report otherwise' }),
    use: commandName().nullable().default(null).meta({ description: "a hand-off command named in the worker's command policy" }),
    remindEvery: duration(rule, DURABLE_WAIT, '4h', 'reminder while the loop waits for a fix or infrastructure'),
    maxAttemptsPerCause: wholeNumber(1, 100, 2).meta({
      description: 'verified fixes that claim a root cause (addresses) while it keeps failing before it goes to people instead of round again',
    }),
    // The fallback is never used: unset means no deadline.
    agentTimeout: duration(rule, DURABLE_WAIT, '1h', 'no deadline')
      .nullable()
      .default(null)
      .meta({ description: `no fix, cannotFix or retest this long after a hand-off: escalated to people; null: no deadline; ${range(DURABLE_WAIT)}` }),
    timeout: duration(rule, STEP_TIMEOUT, '15s', 'bound on one run of the hand-off command (an agent that works synchronously needs minutes); it is retried, then escalated'),
  });

  const infra = section({
    recheckEvery: duration(rule, DURABLE_WAIT, '5m', 'health recheck while blocked on infrastructure'),
    giveUpAfter: duration(rule, DURABLE_WAIT, '24h', 'blocked this long: gave-up'),
  });

  const suiteCommand = commandOrUse('suite', { required: true, fromPolicy: ['cwd', 'junitPath', 'rerunFailed', 'selectCommand'] });
  const handoffCommand = commandOrUse('handoff', { required: false, fromPolicy: [] });
  return section(
    {
      name: withDefault(text(), 'test-deploy-loop').meta({ description: "the loop's name in reports and notifications" }),
      // Required: an absent suite is told it needs suite.command.
      suite: z.preprocess((v, ctx) => suiteCommand(v ?? {}, ctx), suite),
      deploy: deploySchema(rule),
      verify: z.preprocess(unset, verify.prefault({})),
      probes: z.preprocess(unset, probes.prefault({})),
      handoff: z.preprocess((v, ctx) => handoffCommand(unset(v), ctx), handoff.prefault({})),
      infra: z.preprocess(unset, infra.prefault({})),
      maxCycles: wholeNumber(1, 1000, 10).meta({ description: 'suite runs before gave-up' }),
    },
    'must be a JSON object with at least suite.command',
  )
    .superRefine(promotionProblems)
    .transform(({ probes, ...config }) => ({
      ...config,
      probes: {
        ...probes,
        // The health probe defaults to verify.url when another probe says diagnosis should look live.
        http: probes.http?.url
          ? { url: probes.http.url }
          : config.verify.url && (probes.websocket || probes.jwt)
            ? { url: config.verify.url }
            : null,
      },
    }))
    .meta({ title: 'test-deploy-loop input', description: 'The input of the testDeployLoop workflow. Only suite.command (or suite.use) is required.' });
}
