/**
 * One category per failure cluster (the public `Category`), the evidence lines that decided it, the
 * hypothesis in the words a fix team or an infrastructure team uses, the run's verdict, and the
 * live probes' say over all of these. Infrastructure problems are never handed over as code defects.
 */
import { headline, isTitleMessage, NOT_A_HEADLINE } from './failure-text';
import type { TestResult } from './junit';
import { describeAttempt } from '../render';
import { clipText } from './redact';
import {
  INFRASTRUCTURE_CATEGORIES,
  type Category,
  type ProbeEvidence,
  type TestCounts,
  type Verdict,
} from './types';

export interface CategoryDecision {
  category: Category;
  evidence: string[];
}

const MAX_EVIDENCE_LINES = 3;
const MAX_EVIDENCE_CHARS = 240;

/**
 * An HTTP status as a whole token next to a status word (`HTTP 503`, `status code 503`, `returned
 * 503`, `HTTP/1.1 503`), never three digits inside an id, a duration or a line number.
 */
function status(codes: string): string {
  return `\\b(?:HTTP(?:/\\d(?:\\.\\d)?)?|status(?:[ _]?code)?|code|got|returned|response|responded(?: with)?|received|was)\\W{0,3}(?:${codes})\\b`;
}

/** One way of recognising a category: whole tokens in context, never pieces of identifiers. */
interface Rule {
  category: Category;
  /** Any of these, on any line of the failure; case-sensitive ones name exact tokens (errno codes, classes). */
  patterns: RegExp[];
  /**
   * Infrastructure needs evidence in the failure itself or in an exception its log output records
   * (`Caused by: java.net.ConnectException`): log chatter ("retrying after ECONNRESET") is too noisy.
   */
  failureTextOnly?: boolean;
  /** Runner messages that only mean what they say as the failure's headline, not quoted in a diff. */
  headlineOnly?: RegExp;
  /** A runner's way of saying it, read from the test as a whole; returns the evidence line. */
  dialect?: (test: TestResult) => string | null;
}

const rule = (category: Category, patterns: RegExp[], failureTextOnly = false): Rule => ({ category, patterns, failureTextOnly });

/**
 * In this order; the first rule that matches decides. The test could not even start before
 * anything else; credentials before databases (a rejected password is not the database down);
 * infrastructure before what it causes; the runner's own words before generic ones.
 */
const RULES: Rule[] = [
  rule('test-setup', [/\b(?:ModuleNotFoundError|ImportError|ClassNotFoundException|NoClassDefFoundError)\b|\bCannot find module '|\bNo module named\b/]),
  rule('auth', [/\bpassword authentication failed\b|\bAccess denied for user\b|\bLogin failed for user\b/i]),
  rule(
    'database',
    [
      /\bdatabase (?:initiali[sz]ation failed|connection (?:failed|refused|error)|is (?:down|locked|unavailable)|unavailable)\b|\bfailed to (?:create|ensure) (?:database )?tables\b|\btables? [\w."`'{}, ]{1,80} (?:does not|doesn't) exist\b|\brelation "[^"]+" does not exist\b|\bno such table\b|\bmigrations? (?:failed|error)\b|\bconnection pool (?:exhausted|timed? ?out)\b|\bQueuePool limit\b|\btoo many (?:clients|connections)\b|\bcould not connect to (?:database )?server\b|\bconnection to server at .{1,80} failed\b|\bCommunications link failure\b/i,
      /\bOperationalError\b.{0,80}\b(?:connect|connection|server|refused|locked)\b/,
    ],
    true,
  ),
  // A connection that failed to a database (its driver, its host or port named in the failure): the database, not the service.
  { category: 'database', patterns: [], failureTextOnly: true, dialect: databaseUnreachable },
  rule(
    'service-unavailable',
    [
      new RegExp(`${status('502|503|504')}|\\b50[234] (?:Bad Gateway|Service Unavailable|Gateway Time-?out)\\b|\\bService Unavailable\\b|\\bBad Gateway\\b|\\bGateway Time-?out\\b|\\bConnection refused\\b|\\bConnection reset by peer\\b|\\bName or service not known\\b|\\bTemporary failure in name resolution\\b|\\bNo route to host\\b|\\bsocket hang up\\b|\\bServer disconnected without sending a response\\b|\\bno such host\\b`, 'i'),
      /\b(?:ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UnknownHostException|ConnectException|NewConnectionError|WSAECONNREFUSED)\b|\bWinError 10061\b|\bFailed to establish a new connection\b/,
      // Browsers: Chromium's net errors, Firefox's NS_ERROR codes.
      /\bnet::ERR_(?:CONNECTION_REFUSED|CONNECTION_RESET|CONNECTION_CLOSED|NAME_NOT_RESOLVED|ADDRESS_UNREACHABLE|EMPTY_RESPONSE)\b|\bNS_ERROR_(?:CONNECTION_REFUSED|NET_RESET|UNKNOWN_HOST|NET_INTERRUPT)\b/,
    ],
    true,
  ),
  // After the infrastructure rules: a TestMain may fail because a database is down.
  { category: 'test-setup', patterns: [], dialect: packageFailure },
  // jest: a test file that did not compile or import.
  { category: 'test-setup', patterns: [], headlineOnly: /\bTest suite failed to run\b|^collection failure$/ },
  // A test that expected a 401/403 and got another status checks the application's auth behaviour: not a rejected credential.
  rule('assertion', [/\bexpected:?\W{0,3}40[13]\b.{0,40}\b(?:but was|got|received)\b/i]),
  rule('websocket-handshake', [
    /\bSec-WebSocket-Protocol\b|\bsubprotocols?\b|\bwebsocket_protocol\b|\bWebSocket (?:handshake|upgrade)\b|\bInvalidHandshake\b|\bUnexpected server response\b|\bclosed before the connection (?:was|is) established\b|\bclosed?(?: with)?(?: code)?\W{0,3}1002\b|\bcode=1002\b/i,
  ]),
  rule('auth', [
    new RegExp(`${status('401|403')}|\\b40[13] (?:Unauthori[sz]ed|Forbidden)\\b|\\bUnauthori[sz]ed\\b|\\bForbidden\\b|\\btoken (?:validation|verification) failed\\b|\\binvalid (?:token|credentials|signature|api key)\\b|\\btoken (?:is )?(?:invalid|expired)\\b|\\bjwt (?:expired|malformed)\\b|\\bsignature verification failed\\b|\\bauthentication (?:failed|required)\\b|\\binvalid_grant\\b|\\baccess denied\\b`, 'i'),
    /\b(?:JWTExpired|JWSSignatureVerificationFailed|AccessDenied(?:Exception)?|AuthenticationException)\b/,
  ]),
  rule('websocket-handshake', [/\bclosed?(?: with)?(?: code)?\W{0,3}1008\b|\bcode=1008\b|\bpolicy violation\b|\bConnectionClosed(?:Error|OK)?\b|\bWebSocket (?:is )?(?:closed|connection closed)\b/i]),
  // The test's own data was refused by the schema: a fixture out of date, not the application.
  { category: 'test-setup', patterns: [], dialect: testDataRefused },
  // The framework's setup and teardown phases (NUnit, TestNG, JUnit 5, mocha, pytest, jest, Spring,
  // WebDriver sessions), unmet preconditions and missing configuration.
  rule('test-setup', [
    /\blisten (?:EACCES|EADDRINUSE)\b|\bbrowserType\.launch: Executable doesn't exist\b|\bnpx playwright install\b|\bnot found in `markers` configuration option\b|\brequest url is empty\b|\bFailed to load ApplicationContext\b|\bUnable to find a @SpringBootConfiguration\b|\bSessionNotCreated(?:Exception|Error)\b|\bcould not find driver\b/,
    /\bno [\w ]{0,40}\b(?:key|secret|config\w*) (?:has been|was|is) (?:specified|set|configured|provided)\b/i,
    /^(?:OneTimeSetUp|OneTimeTearDown|SetUp|TearDown)\s*:|^--(?:SetUp|TearDown)\b|\.(?:OneTimeSetUp|OneTimeTearDown|SetUp|TearDown)\(\)|\bConfigInvoker\.invokeConfigurationMethod\b|\binvoke(?:BeforeAll|BeforeEach|AfterAll|AfterEach)Methods\b|"(?:before|after) (?:all|each)" hook|\bfailed on (?:setup|teardown)\b|\berror at (?:setup|teardown) of\b|\bsetUpClass\b|\bfixture '[^']+' not found\b/,
    /\b(?:tests?|suite|specs?) (?:cannot|can't|could not) be run\b|\b(?:test|suite|spec)s? (?:needs|requires) (?:a|an|at least)\b/i,
  ]),
  // The runner stopped the test: its own time limit, not an operation's.
  rule('timeout', [/\bTest timeout of \d+ ?ms exceeded\b|\bTimeout of \d+ ?ms exceeded\b|\bExceeded timeout of \d+ ?ms\b|\bnot invoked within the \d+ ?ms timeout\b|\btest timed out after\b/i]),
  // A web-first or eventual expectation (Playwright, jest, Cypress, Selenium waits, Gomega's
  // Eventually) retries up to its time limit, then fails: an assertion, not a timeout.
  rule('assertion', [
    /\bexpect\([^)]*\)\.(?:not\.)?(?:resolves\.|rejects\.)?to[A-Z]\w*\(|\bTimed out retrying after \d+ ?ms: [Ee]xpected\b|\bExpected condition failed\b|^Timed out after [\d.]+s\.$/,
  ]),
  rule('timeout', [
    /\btimed? out\b|\btime ?out (?:exceeded|expired|reached|error|occurred|after|while)\b|\bTimeout \d+ ?ms exceeded\b|\bdeadline exceeded\b|\btook longer than\b/i,
    /(?:\b|[a-z])Timeout(?:Error|Exception)\b|\b(?:DEADLINE_EXCEEDED|ETIMEDOUT|ESOCKETTIMEDOUT|ReadTimeout|ConnectTimeout)\b/,
  ]),
  rule('test-setup', [/\bNameError\b|\bReferenceError: \w+ is not defined\b|\bmissing (?:required )?(?:config|configuration|environment variable)\b|\bKeyError: '[A-Z][A-Z0-9_]+'/i]),
  rule('assertion', [
    /\b(?:AssertionError|AssertionFailedError|ComparisonFailure|AssertionFailure|ExpectationFailedException|PhptAssertionFailedError|PendingExampleFixedError)\b|\bFailed asserting that\b|\bAssert\.\w+ failed\b|\bassert\b|\bexpect\(|\bassert\w*(?:Equal|That|True|False)\b|\bto(?:Be|Equal|Have|Contain|Match)\w*\b/,
    /\bexpected\b|\bto (?:be|equal)\b|\bbut (?:was|got|found)\b|!=|\bshould\b/i,
    // Go: t.Error and t.Fatal print the test file's location.
    /^\w+_test\.go:\d+: /,
  ]),
  { category: 'assertion', patterns: [], dialect: ownException },
];

const DATABASE_RULE = RULES.find((r) => r.category === 'database')!;

/** go-junit-report's and gotestsum's package-level failures: the test binary did not build or start. */
function packageFailure(test: TestResult): string | null {
  const message = test.failure?.message ?? '';
  if (message === 'Build error' || message === 'Runtime error') return `${message}: ${firstBodyLine(test)}`;
  return test.id.endsWith('::TestMain') ? `TestMain failed: ${firstBodyLine(test)}` : null;
}

const UNREACHABLE = /\b(?:Connection refused|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|UnknownHostException|ConnectException|could not translate host name|Name or service not known)\b/;
const DATABASE_CLIENT = /jdbc|JdbcEnvironment|DataSource|Hikari|hibernate|Sequelize|TypeORM|Prisma|knex|psycopg|asyncpg|sqlalchemy|Mongo(?:Network|ServerSelection)Error|\b[\w-]*(?:db|database|postgres\w*|mysql|mariadb|mongo\w*)\b|Database/i;

function databaseUnreachable(test: TestResult): string | null {
  const { failure, outputExceptions } = linesOf(test);
  const lines = [...failure, ...outputExceptions];
  const down = lines.find((l) => UNREACHABLE.test(l));
  return down !== undefined && lines.some((l) => DATABASE_CLIENT.test(l)) ? down : null;
}

const CONSTRAINT_VIOLATION = /\bviolates (?:not-null|check|foreign key|unique) constraint\b|\bIntegrityError\b|\bduplicate key value violates\b|\bSQLIntegrityConstraintViolationException\b/;
/** A stack frame's file: JavaScript `at fn (file:1:2)` / `at file:1:2`, Python `File "file", line 1`. */
const FRAME_FILE = /^\s*at (?:.*? \()?([^\s()]+?):\d+:\d+\)?\s*$|^\s*File "([^"]+)", line \d+/;
const LIBRARY_FILE = /node_modules|node:internal|site-packages|dist-packages|\/lib\/python/;
const TEST_FILE = /(?:^|[\\/])(?:tests?|specs?|__tests__|testing)[\\/]|[._-](?:spec|test)s?\.\w+$|(?:^|[\\/])test_\w+\.py$|Tests?\.\w+$/;

/** A constraint violation whose innermost project frame is in test code: the test's data setup was refused. */
function testDataRefused(test: TestResult): string | null {
  const body = test.failure?.body ?? '';
  const violation = `${test.failure?.message ?? ''}\n${body}`.split('\n').find((l) => CONSTRAINT_VIOLATION.test(l));
  if (violation === undefined) return null;
  const files = body.split('\n', 60).flatMap((l) => {
    const m = FRAME_FILE.exec(l);
    return m && !LIBRARY_FILE.test(m[1] ?? m[2]) ? [m[1] ?? m[2]] : [];
  });
  // JavaScript prints the innermost frame first, Python last.
  const innermost = /^\s*File "/m.test(body) ? files[files.length - 1] : files[0];
  return innermost !== undefined && TEST_FILE.test(innermost) ? violation.trim() : null;
}

function firstBodyLine(test: TestResult): string {
  return (test.failure?.body ?? '').split('\n', 8).find((l) => l.trim() && !NOT_A_HEADLINE.test(l.trim()))?.trim() ?? '';
}

/**
 * The code under test threw its own exception (its class in the test's own package, e.g.
 * `com.acme.mail.InvalidAddressException` in `com.acme.mail.AddressTest`): not what the test expected.
 */
function ownException(test: TestResult): string | null {
  const type = test.failure?.type ?? '';
  const packages = type.split('.');
  const name = packages.pop() ?? '';
  if (!/^[A-Z]\w*(?:Exception|Error)$/.test(name) || PLATFORM_PACKAGE.test(packages[0] ?? '')) return null;
  const project = test.id.split('::')[0].split('.');
  let shared = 0;
  while (shared < packages.length && packages[shared] === project[shared]) shared++;
  // `com.`, `org.`: the organisation alone does not make a project.
  const needed = /^(?:com|org|io|net|dev|de|fr|uk)$/.test(packages[0] ?? '') ? 3 : 2;
  return shared >= needed ? `${type}: ${test.failure?.message ?? ''}` : null;
}

const PLATFORM_PACKAGE = /^(?:java|javax|jdk|sun|kotlin|scala|groovy|System|Microsoft|NUnit|Xunit)$/;

/** The failure's own text (message, body, type) and, apart, the test's log output. */
function linesOf(test: TestResult): { failure: string[]; output: string[]; outputExceptions: string[] } {
  const f = test.failure;
  const split = (text: string) =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  // Playwright's message is the test's location and title: it says nothing about the failure.
  const message = f && !isTitleMessage(f.message) ? f.message : '';
  const output = split(test.output);
  return {
    // Playwright repeats the test's title (`[chromium] › a.spec.ts:3:5 › should ...`) in the body.
    failure: f ? split([message, f.body, f.type].join('\n')).filter((l) => !PLAYWRIGHT_TITLE.test(l)) : [],
    output,
    outputExceptions: output.filter((l) => LOGGED_EXCEPTION.test(l)),
  };
}

const PLAYWRIGHT_TITLE = /^\[[^\]]+\] › /;

/** A logged exception: `Caused by: x.Y: ...` or `x.YException: ...` at the start of a line. */
const LOGGED_EXCEPTION = /^(?:Caused by: )?(?:[\w$]+\.)*[A-Z][\w$]*(?:Exception|Error): /;

function clip(line: string): string {
  return clipText(line, MAX_EVIDENCE_CHARS, '…');
}

function matching(rule: Rule, lines: readonly string[]): string[] {
  return lines.filter((l) => rule.patterns.some((p) => p.test(l)));
}

/** The first rule any line matches decides; its matching lines are the evidence. */
export function categorize(test: TestResult): CategoryDecision {
  const { failure, output, outputExceptions } = linesOf(test);
  const first = test.failure ? headline(test.failure) : '';
  const decide = (category: Category, lines: string[]): CategoryDecision => ({
    category,
    evidence: [...new Set(lines)].slice(0, MAX_EVIDENCE_LINES).map(clip),
  });
  for (const r of RULES) {
    const said = r.dialect?.(test) ?? (r.headlineOnly?.test(first) ? first : null);
    if (said !== null) return decide(r.category, [said]);
    const found = matching(r, failure);
    const fromOutput = matching(r, r.failureTextOnly ? outputExceptions : output);
    if (found.length + fromOutput.length > 0) return decide(r.category, [...found, ...fromOutput]);
  }
  return { category: 'unknown', evidence: test.failure ? [clip(headline(test.failure))] : [] };
}

export function isInfrastructure(category: Category): boolean {
  return INFRASTRUCTURE_CATEGORIES.includes(category);
}

/**
 * Text that is not a test's failure (a deploy's error, a health check's answer) read by the same
 * rules, as one failure; pure, so the workflow's decisions use it too.
 */
export function classifyText(text: string): CategoryDecision {
  return categorize({
    id: '',
    outcome: 'errored',
    timeMs: 0,
    failure: { kind: 'error', type: '', message: text, body: '' },
    output: '',
    attachments: [],
    file: '',
  });
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
      // Only what the evidence shows: a token problem, a permission problem or a rejected password.
      if (/\b(?:jwt|bearer|token|JWS|signature)\b/i.test(text)) {
        return 'The server rejected the token: check that it is current (exp), issued for this environment (iss/aud, signing key) and sent as the server expects (Authorization: Bearer <token>).';
      }
      if (/\bcannot \w+ resource\b|\bforbidden: User\b|\bpermission|\bnot (?:allowed|authori[sz]ed) to\b|\bAccessDenied/i.test(text)) {
        return 'The caller was identified but is not allowed to do this (a role or permission is missing): grant the permission the evidence names, or run the tests as an identity that has it.';
      }
      if (/\bpassword authentication failed\b|\bAccess denied for user\b|\bLogin failed for user\b/i.test(text)) {
        return 'The service refused the configured user name or password: check the credentials the tests (or the service) are configured with for this environment.';
      }
      return 'The server refused the request as unauthenticated (401) or not permitted (403): check which credentials the tests send and what they are allowed to do.';
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
    const database = DATABASE_RULE.patterns.some((p) => p.test(http?.body ?? ''));
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

/**
 * `passed`, `flaky`, `infrastructure`, `code` or `mixed`. Infrastructure only on
 * evidence: a run that mostly timed out is not enough (UI waits and eventual expectations time out
 * on wrong behaviour too), and a wrong infrastructure verdict is the costliest. Some failures with
 * that evidence and some without is mixed: the infrastructure team first.
 */
export function verdictOf(tests: TestCounts, clusters: readonly Categorized[]): Verdict {
  const failing = tests.failed + tests.errored;
  if (failing === 0) return tests.flaky > 0 ? 'flaky' : 'passed';
  const infra = clusters.filter((c) => isInfrastructure(c.category)).length;
  return infra === clusters.length ? 'infrastructure' : infra > 0 ? 'mixed' : 'code';
}
