/**
 * One category per failure cluster (CONTRACT.md), the evidence lines that decided it, the
 * hypothesis in the words a fix team or an infrastructure team uses, the run's verdict, and the
 * live probes' say over all of these. Infrastructure problems are never handed over as code defects.
 */
import { headline } from './failure-text';
import type { TestResult } from './junit';
import { clipText } from './redact';
import {
  INFRASTRUCTURE_CATEGORIES,
  type Category,
  type ProbeEvidence,
  type TestCounts,
  type Verdict,
  type WebSocketAttempt,
} from './types';

export interface CategoryDecision {
  category: Category;
  evidence: string[];
}

const MAX_EVIDENCE_LINES = 3;
const MAX_EVIDENCE_CHARS = 240;
/** Trunk's rule: when most of a run fails, the environment failed, not the tests. */
const MOSTLY_FAILING = 0.8;

/** `HTTP 503`, `status code 503`, `returned 503`, `503 Service Unavailable`. */
function status(codes: string): string {
  return `(\\b(HTTP|status(?: code)?|code|got|returned|response|was)\\W{0,3}(${codes})\\b)`;
}

/** Checked in this order: infrastructure first, so it is never mistaken for a code defect. */
const RULES: { category: Category; pattern: RegExp }[] = [
  {
    category: 'database',
    pattern:
      /database (initiali[sz]ation|connection|error|unavailable|is (down|locked))|failed to (create|ensure) (database )?tables|tables? .{0,40}(does not|doesn't) exist|relation "[^"]+" does not exist|no such table|migrations? (failed|error)|connection pool (exhausted|timed? ?out)|QueuePool limit|too many (clients|connections)|sqlalchemy\.exc\.|psycopg2?\.|OperationalError|could not connect to server/i,
  },
  {
    category: 'service-unavailable',
    pattern: new RegExp(
      `${status('502|503|504')}|\\b50[234] (Bad Gateway|Service Unavailable|Gateway Time-?out)|Service Unavailable|Bad Gateway|ECONNREFUSED|Connection refused|ECONNRESET|Connection reset|ENOTFOUND|EAI_AGAIN|getaddrinfo|Name or service not known|Temporary failure in name resolution|EHOSTUNREACH|No route to host|socket hang up|Server disconnected`,
      'i',
    ),
  },
  {
    category: 'websocket-handshake',
    pattern:
      /Sec-WebSocket-Protocol|subprotocol|websocket_protocol|WebSocket (handshake|upgrade)|InvalidHandshake|NegotiationError|Unexpected server response|Unexpected response code|close code:? ?1002|code=1002|protocol error/i,
  },
  {
    category: 'auth',
    pattern: new RegExp(
      `${status('401|403')}|Unauthori[sz]ed|Forbidden|token (validation|verification) failed|invalid (token|credentials|signature)|token (is )?(invalid|expired)|jwt (expired|malformed)|JWTExpired|JWSSignatureVerificationFailed|signature verification failed|authentication (failed|required)|VALIDATION_FAILED|invalid_grant|access denied`,
      'i',
    ),
  },
  {
    category: 'websocket-handshake',
    pattern: /close code:? ?1008|code=1008|policy violation|ConnectionClosed(Error)?|WebSocket (is )?(closed|connection closed)/i,
  },
  { category: 'timeout', pattern: /timed? ?out|timeout|deadline exceeded|DEADLINE_EXCEEDED|ETIMEDOUT|took longer than/i },
  {
    category: 'test-setup',
    pattern:
      /ImportError|ModuleNotFoundError|Cannot find module|fixture '[^']+' not found|failed on setup|error at setup|NameError|ReferenceError: \w+ is not defined|missing (required )?(config|configuration|environment variable)|KeyError: '[A-Z][A-Z0-9_]+'|"before (all|each)" hook|TestMain|setUpClass|@BeforeAll|@BeforeEach/,
  },
  {
    category: 'assertion',
    pattern: /AssertionError|AssertionFailedError|ComparisonFailure|assert |expect\(|expected|to (be|equal)|toBe|toEqual|but (was|got)|!=|assertEqual|should /i,
  },
];

/** The text a test's category is read from: the headline lines first, then output. */
function linesOf(test: TestResult): string[] {
  const f = test.failure;
  const parts = f ? [f.message, f.body.split('\n', 60).join('\n'), f.type] : [];
  parts.push(test.output.split('\n', 30).join('\n'));
  return parts
    .join('\n')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

function clip(line: string): string {
  return clipText(line, MAX_EVIDENCE_CHARS, '…');
}

/** The first rule any line matches decides; its matching lines are the evidence. */
export function categorize(test: TestResult): CategoryDecision {
  const lines = linesOf(test);
  for (const rule of RULES) {
    const matching = [...new Set(lines.filter((l) => rule.pattern.test(l)))];
    if (matching.length > 0) return { category: rule.category, evidence: matching.slice(0, MAX_EVIDENCE_LINES).map(clip) };
  }
  return { category: 'unknown', evidence: test.failure ? [clip(headline(test.failure))] : [] };
}

export function isInfrastructure(category: Category): boolean {
  return INFRASTRUCTURE_CATEGORIES.includes(category);
}

/** What probably happened and what to do, from the category and its evidence. */
export function hypothesisFor(category: Category, evidence: readonly string[]): string {
  const text = evidence.join('\n');
  switch (category) {
    case 'websocket-handshake':
      if (/websocket_protocol"?:?\s*"?\[?MISSING|subprotocol|Sec-WebSocket-Protocol/i.test(text)) {
        return 'The server saw no WebSocket subprotocol in the handshake and rejected the connection: the client must send Sec-WebSocket-Protocol with the subprotocol the server expects.';
      }
      return 'The WebSocket handshake failed or the server closed the socket during setup: compare the client\'s subprotocols and headers with what the server requires.';
    case 'auth':
      return 'The server rejected the credentials: check that the token is current (exp), issued for this environment (iss/aud, signing key) and sent as the server expects (Authorization: Bearer <token>).';
    case 'service-unavailable':
      return 'The service was unreachable or unhealthy (5xx, refused or reset connections, DNS): an infrastructure problem, not a code defect. The infrastructure team restores the service; the loop tests again when it is back.';
    case 'database':
      return 'The service\'s database failed (start-up, tables or migrations, connections): an infrastructure problem, not a code defect. The infrastructure team fixes the database; the loop tests again when it is back.';
    case 'timeout':
      return 'An operation exceeded its time limit: the awaited condition never happened. If the service is slow or down this is infrastructure; otherwise the code path or the test\'s wait is wrong.';
    case 'assertion':
      return 'The application answered, but not as the test expected: a behaviour change in the code or an outdated expectation in the test.';
    case 'test-setup':
      return 'The test could not start (imports, fixtures, configuration): fix the test environment before the suite can say anything about the service.';
    case 'unknown':
      return 'No known failure pattern matched: read the evidence and the failing tests\' output.';
  }
}

/** A cluster as far as probes and verdicts care. */
export interface Categorized {
  category: Category;
  evidence: string[];
  hypothesis: string;
  count: number;
  decidedBy: 'messages' | 'probes';
}

function describeAttempt(a: WebSocketAttempt): string {
  const result = a.accepted
    ? `accepted${a.protocol ? ` (protocol ${a.protocol})` : ''}`
    : a.status !== null && a.status !== 101
      ? `rejected with HTTP ${a.status}`
      : a.closeCode !== null
        ? `closed ${a.closeCode}${a.closeReason ? ` "${a.closeReason}"` : ''}`
        : `failed${a.error ? `: ${a.error}` : ''}`;
  const first = a.firstMessage ? `, first message ${a.firstMessage}` : '';
  return `WebSocket probe, ${a.label}: ${result}${first}`;
}

/** What the probes prove, if anything; applied to the clusters by applyProbes. */
interface ProbeFinding {
  /** Replaces every cluster's category (the service is down). */
  infrastructure?: { category: Category; evidence: string[] };
  /** The token is bad: for clusters about connecting and authenticating. */
  token?: { evidence: string[]; hypothesis: string };
  /** The token is fine and the server's requirements are known: the same clusters. */
  connection?: { accepted: string; tokenValid: string; needs: Need[] };
}

function findings(probes: ProbeEvidence): ProbeFinding {
  const out: ProbeFinding = {};
  const http = probes.http;
  const attempts = probes.websocket?.attempts ?? [];
  const configured = attempts[0];
  const upgradeDown = configured && configured.status !== null && configured.status >= 502 && configured.status <= 504;
  if ((http && !http.healthy && (http.status === null || http.status >= 500)) || upgradeDown) {
    const evidence: string[] = [];
    if (http && !http.healthy) {
      evidence.push(`health probe: GET ${http.url} -> ${http.status ?? http.error} in ${http.ms} ms${http.body ? `: ${clip(http.body)}` : ''}`);
    }
    if (upgradeDown) evidence.push(describeAttempt(configured));
    const database = RULES[0].pattern.test(http?.body ?? '');
    out.infrastructure = { category: database ? 'database' : 'service-unavailable', evidence };
    return out;
  }
  const jwt = probes.jwt;
  if (jwt && jwt.present && !jwt.valid) {
    out.token = {
      evidence: [`JWT probe (${jwt.tokenEnv}): ${jwt.problems.join('; ')}`],
      hypothesis: `The suite's token is not valid: ${jwt.problems.join('; ')}. Provide a fresh, correctly issued token in ${jwt.tokenEnv}.`,
    };
    return out;
  }
  if (!configured?.accepted) return out;
  // The configured handshake works: what does the server reject when one part is left out?
  const withoutProtocol = attempts.find((a) => a.subprotocols.length === 0 && a.authHeader === configured.authHeader);
  const withoutBearer = attempts.find((a) => a.authHeader === 'raw');
  const tokenValid = jwt ? `token valid (${jwt.alg ?? 'no alg'}, ${jwt.expiresAt ? `expires ${jwt.expiresAt}` : 'no exp'})` : 'token accepted';
  const protocols = configured.subprotocols.map((p) => `\`${p}\``).join(', ');
  const needs: Need[] = [];
  if (withoutProtocol && !withoutProtocol.accepted && configured.subprotocols.length > 0) {
    needs.push({
      category: 'websocket-handshake',
      mentions: /subprotocol|websocket_protocol|Sec-WebSocket-Protocol/i,
      evidence: describeAttempt(withoutProtocol),
      finding: `WebSocket handshake without ${protocols} subprotocol rejected, with it accepted`,
      fix: `send Sec-WebSocket-Protocol: ${configured.subprotocols.join(', ')}`,
    });
  }
  if (withoutBearer && !withoutBearer.accepted) {
    needs.push({
      category: 'auth',
      mentions: /bearer/i,
      evidence: describeAttempt(withoutBearer),
      finding: 'the token without the Bearer prefix rejected',
      fix: 'send the token as Authorization: Bearer <token>',
    });
  }
  if (needs.length > 0) out.connection = { accepted: describeAttempt(configured), tokenValid, needs };
  return out;
}

/** Something the server requires, proven by an attempt without it. */
interface Need {
  category: Category;
  /** Failure text that points at this requirement. */
  mentions: RegExp;
  evidence: string;
  finding: string;
  fix: string;
}

/** The needs a cluster's own text points at (all of them when it points at none). */
function connectionVerdict(c: Categorized, connection: NonNullable<ProbeFinding['connection']>): Pick<Categorized, 'category' | 'evidence' | 'hypothesis'> {
  const text = c.evidence.join('\n');
  const pointed = connection.needs.filter((n) => n.mentions.test(text));
  const needs = pointed.length > 0 ? pointed : connection.needs;
  return {
    category: needs[0].category,
    evidence: [connection.accepted, ...needs.map((n) => n.evidence), ...c.evidence],
    hypothesis: `${connection.tokenValid} but ${needs.map((n) => n.finding).join(', and ')}: the client must ${needs.map((n) => n.fix).join(' and ')}.`,
  };
}

/** Categories the probes can explain: failures to connect or authenticate, and unexplained ones. */
const CONNECTION_CATEGORIES: readonly Category[] = ['auth', 'websocket-handshake', 'unknown', 'timeout'];

/** Lets live probe evidence decide or override categories and hypotheses (see ProbeFinding). */
export function applyProbes<C extends Categorized>(clusters: C[], probes: ProbeEvidence | undefined): C[] {
  if (!probes) return clusters;
  const found = findings(probes);
  return clusters.map((c) => {
    if (found.infrastructure) {
      const { category, evidence } = found.infrastructure;
      const was = c.category === category ? [] : [`(the messages alone suggested ${c.category})`];
      return { ...c, category, evidence: [...evidence, ...was, ...c.evidence], hypothesis: hypothesisFor(category, evidence), decidedBy: 'probes' };
    }
    if (!CONNECTION_CATEGORIES.includes(c.category)) return c;
    if (found.token) {
      const { evidence, hypothesis } = found.token;
      return { ...c, category: 'auth', evidence: [...evidence, ...c.evidence], hypothesis, decidedBy: 'probes' };
    }
    if (found.connection) return { ...c, ...connectionVerdict(c, found.connection), decidedBy: 'probes' };
    return c;
  });
}

/** `passed`, `flaky`, `infrastructure`, `code` or `mixed`; see CONTRACT.md. */
export function verdictOf(tests: TestCounts, clusters: readonly Categorized[]): Verdict {
  const failing = tests.failed + tests.errored;
  if (failing === 0) return tests.flaky > 0 ? 'flaky' : 'passed';
  const infra = clusters.filter((c) => isInfrastructure(c.category));
  if (infra.length === clusters.length) return 'infrastructure';
  const ran = tests.total - tests.skipped;
  const infraLooking = clusters
    .filter((c) => isInfrastructure(c.category) || c.category === 'timeout')
    .reduce((n, c) => n + c.count, 0);
  if (ran > 0 && failing / ran > MOSTLY_FAILING && infraLooking * 2 >= failing) return 'infrastructure';
  return infra.length > 0 ? 'mixed' : 'code';
}
