/**
 * A streaming, lenient JUnit XML reader for the dialects real runners write (pytest, jest/vitest,
 * mocha, Go, Surefire/Failsafe, TestNG, Gradle, Playwright, Newman, PHPUnit, RSpec, .NET, Bazel,
 * ctest, TAP converters, ginkgo), in their own encoding, counting tests as the runner did. Files
 * are read in chunks and only per-test data is kept, with bounded text, so a 20,000-case report
 * stays cheap. A truncated or malformed file yields what could be read plus warnings.
 */
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { TextDecoder } from 'node:util';
import { FailureType, LoopError } from '../errors';
import { clipText } from './redact';
import type { TestCounts } from './types';
import { XmlScanner, type Attributes } from './xml-scanner';

/** Text kept per failure: the first lines are what clustering and the report need. */
const MAX_BODY_CHARS = 4096;
const MAX_MESSAGE_CHARS = 1024;
const MAX_OUTPUT_CHARS = 2048;
/** XML errors reported per file; a broken file can produce thousands. */
const MAX_XML_WARNINGS = 5;
/** A report larger than this is refused: no runner writes one, and it would only exhaust memory. */
export const MAX_REPORT_BYTES = 1024 ** 3;
/** A file with no root element this far in is not XML (a binary, /dev/zero): stop reading it. */
const ROOT_WITHIN_BYTES = 64 * 1024;
/**
 * Bytes read and decoded at a time. Each read is a round trip to libuv's thread pool and each chunk
 * one pass of the decoder and scanner's per-chunk set-up: at 64 KB a 60 MB report paid ~1,000 of
 * them, and on a busy machine the waits between reads cost more than the scan.
 */
export const READ_CHUNK_BYTES = 1024 * 1024;

/** One array for the many tests without attachments: not one allocation per test case. */
const NO_ATTACHMENTS: readonly string[] = Object.freeze([]);

export type Outcome = 'passed' | 'failed' | 'errored' | 'skipped' | 'flaky';

/** What a failing (or flaky) test reported: `<failure>`, `<error>` or a Surefire rerun element. */
export interface FailureDetail {
  kind: 'failure' | 'error';
  /** The exception type (`type` attribute), `''` when the runner wrote none. */
  type: string;
  message: string;
  /** The element's text (stack trace, assertion diff), first MAX_BODY_CHARS characters. */
  body: string;
}

/** One `<testcase>` element as written (a test can appear several times: reruns, pytest teardown). */
export interface TestCaseRecord {
  /** `classname::name`; the enclosing suite's name stands in for an empty classname (Go `TestMain`). */
  id: string;
  outcome: Outcome;
  timeMs: number;
  failure: FailureDetail | null;
  /** First characters of system-out and system-err, kept for failing tests only. */
  output: string;
  /** Playwright `[[ATTACHMENT|path]]` paths; read-only, one array is shared by the tests that have none. */
  attachments: readonly string[];
  /** The report file it came from. */
  file: string;
}

/** One test after its records are combined: reruns with mixed outcomes make it flaky. */
export type TestResult = TestCaseRecord;

export interface JUnitReadResult {
  tests: TestResult[];
  warnings: string[];
}

/** `time="1,234.5"` (thousands separator) and `time="0,25"` (decimal comma) both occur. */
export function parseSeconds(value: string | undefined): number {
  if (!value) return 0;
  const plain = plainDecimal(value);
  if (plain >= 0) return plain;
  // parseFloat skips the same leading white space trim() removes, and stops before trailing text.
  const normal = !value.includes(',') ? value : commaSeconds(value.trim());
  const seconds = Number.parseFloat(normal);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
}

/**
 * `text` in memory of its own. The scanner hands out slices of its input chunks (READ_CHUNK_BYTES), and one kept
 * slice keeps its whole chunk alive: the kept ids and failure texts of a 10 MB report would keep all
 * of it, and every garbage collection would copy it again.
 */
function own(text: string): string {
  return (' ' + text).slice(1);
}

const POWERS_OF_TEN = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * `12.345` as 12345 / 10³, or -1 for any other text (sign, exponent, blanks, comma, over 15 digits).
 * Digits and power of ten are exact doubles, so the one division rounds as parseFloat does; it runs
 * once per test case, and parseFloat costs several times more.
 */
function plainDecimal(text: string): number {
  let digits = 0;
  let n = 0;
  let point = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      n = n * 10 + (c - 0x30);
      digits++;
    } else if (c === 0x2e && point < 0) {
      point = i;
    } else {
      return -1;
    }
  }
  if (digits === 0 || digits > 15) return -1;
  return point < 0 ? n : n / POWERS_OF_TEN[text.length - 1 - point];
}

function commaSeconds(text: string): string {
  return /^\d{1,3}(,\d{3})+(\.\d+)?$/.test(text) ? text.replace(/,/g, '') : text.replace(',', '.');
}



/** pytest writes a setup/teardown error as its own `<error message="failed on teardown ...">`. */
function isFixturePhaseError(detail: FailureDetail | null): boolean {
  return detail !== null && detail.kind === 'error' && /^failed on (setup|teardown)\b/i.test(detail.message);
}

interface OpenCase {
  record: TestCaseRecord;
  /** What the id is made of: `classname::testName`, or `testName` when classname is `''`. */
  classname: string;
  testName: string;
  /**
   * The `<testsuite>` element it is in. The same classname and name in another suite element is
   * another test (a browser project, a Newman request, a parametrised suite), not a retry.
   */
  scope: string;
  /** A repeat of its id in its suite element is a retry (see TestTable). */
  retryable: boolean;
  /** Surefire: `<flakyFailure>` means a failed attempt before a pass. */
  flakyAttempt: FailureDetail | null;
  /** Surefire: `<rerunFailure>` means the reruns failed too. */
  rerunFailure: FailureDetail | null;
  /**
   * `<failure>`/`<error>` elements after the first: pytest writes one per collection error of a
   * package into one test case and counts each (`errors="32"` over 27 erroring test cases);
   * jest-junit writes a test's error and its hook's error and counts the test once.
   */
  moreFailures: FailureDetail[] | null;
  skipped: boolean;
  body: string;
  /** `Caused by:` lines past the kept body. */
  causes: string[] | null;
  /** Created when a failing test's output starts: most tests pass and keep none. */
  output: LogBuffer | null;
}

const READ_ERRORS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory' };

interface DetailElement {
  kind: 'failure' | 'error';
  /** Surefire's rerun and flaky elements: see OpenCase. */
  target: 'failure' | 'rerun' | 'flaky';
}
/** A Map, not an object: an element named `constructor` or `toString` is not a failure. */
const DETAIL_ELEMENTS = new Map<string, DetailElement>([
  ['failure', { kind: 'failure', target: 'failure' }],
  ['error', { kind: 'error', target: 'failure' }],
  ['rerunFailure', { kind: 'failure', target: 'rerun' }],
  ['rerunError', { kind: 'error', target: 'rerun' }],
  ['flakyFailure', { kind: 'failure', target: 'flaky' }],
  ['flakyError', { kind: 'error', target: 'flaky' }],
]);


/**
 * Receives each test case and the parts of its id (see OpenCase). `record.id` is `''` unless the
 * reader was asked for ids: TestTable makes its own from the parts, and only for what it keeps.
 */
type CaseSink = (record: TestCaseRecord, classname: string, testName: string, scope: string, retryable: boolean) => void;

function idOf(classname: string, testName: string): string {
  return classname ? `${classname}::${testName}` : testName;
}

/**
 * Streams one JUnit file and calls `onCase` for every `<testcase>`. Returns the file's warnings.
 * Throws LoopError(NoJUnitReport) only when the file cannot be read or is not a JUnit report at all.
 */
async function readJUnitFile(file: string, onCase: CaseSink): Promise<string[]> {
  const warnings: string[] = [];
  const state: ReaderState = {
    root: null,
    rootClosed: false,
    rootSkipped: 0,
    skipped: 0,
    unwritten: 0,
    suites: [],
    scopesSeen: new Map(),
    current: null,
    spare: null,
    capture: null,
    captureDepth: 0,
    depth: 0,
    openDetail: null,
  };
  let xmlErrors = 0;
  let firstXmlError: string | null = null;
  let lastErrorAt = '';

  const onText = (text: string) => {
    const open = state.current;
    if (state.capture === 'suite') state.suites[state.suites.length - 1].output.append(text);
    else if (open === null || state.capture === null) return;
    else if (state.capture === 'output') (open.output ??= new LogBuffer()).append(text);
    else if (open.body.length < MAX_BODY_CHARS) open.body += text;
    else if (text.includes('Caused by:') && (open.causes?.length ?? 0) < MAX_CAUSES) (open.causes ??= []).push(...causesIn(text));
  };
  const scanner: XmlScanner = new XmlScanner(file, {
    error: (message, at) => {
      // Raw control characters (terminal colours in system-out) are not reported, and are removed from
      // the text that is kept (see withoutControlChars); a raw `<` in an attribute value is left out
      // of the value: neither is a broken report.
      if (message.endsWith(': disallowed character.')) return;
      // At the end of a truncated file every still-open element reports at the same position: say it once.
      if (at === lastErrorAt) return;
      lastErrorAt = at;
      xmlErrors++;
      firstXmlError ??= message;
      if (xmlErrors <= MAX_XML_WARNINGS) warnings.push(`${message} (kept what came before)`);
    },
    text: onText,
    cdata: onText,
    openTag: (name, attributes) => {
      openElement(state, file, name, attributes);
      // Text is built only while some is kept (a failure, a failing test's output), not through
      // the output of thousands of passing tests.
      scanner.wantText = state.capture !== null;
    },
    closeTag: (name) => {
      const suite = name === 'testsuite' ? state.suites[state.suites.length - 1] : undefined;
      const done = closeElement(state, name);
      scanner.wantText = state.capture !== null;
      if (done !== null) {
        const record = finishCase(done);
        const parent = state.suites[state.suites.length - 1];
        if (parent !== undefined && record.failure !== null && parent.failures.length < MAX_SUITE_FAILURES) parent.failures.push(record);
        if (record.outcome === 'skipped') state.skipped++;
        onCase(record, done.classname, done.testName, done.scope, done.retryable);
        if (parent !== undefined && (record.outcome === 'failed' || record.outcome === 'errored')) parent.failing++;
        if (parent !== undefined && done.moreFailures !== null) parent.more.push({ record, open: done });
        // TestTable keeps a record only with a failure, output or attachments; the suite, only failed ones.
        if (record.failure === null && record.output === '' && record.attachments === NO_ATTACHMENTS && done.moreFailures === null) state.spare = done;
      }
      if (suite === undefined) return;
      // Further failures of one test case count where the suite's own numbers count them (pytest),
      // not where they are one test's several errors (jest-junit).
      let uncounted = suite.declaredProblems - suite.failing;
      for (const { record, open } of suite.more) {
        for (const [i, failure] of open.moreFailures!.entries()) {
          if (uncounted-- <= 0) break;
          const outcome = failure.kind === 'error' ? 'errored' : 'failed';
          onCase({ ...record, id: '', outcome, failure }, open.classname, `${open.testName} [${i + 2}]`, open.scope, false);
        }
      }
      if (suite.cases === 0 && suite.childSuites === 0 && suite.declaredProblems > 0) {
        onCase(suiteFailure(suite, file), suite.name, '(suite error)', suite.scope, false);
      } else if (!suite.output.empty && (suite.cases === 1 || suite.declaredErrors > 0)) {
        // Bazel and Gradle write their one test's log as the suite's output; Newman writes there why a
        // request failed, which is why its tests failed.
        const output = suite.output.text();
        for (const failed of suite.failures) if (failed.output === '') failed.output = output;
      }
      if (suite.childSuites === 0) state.unwritten += Math.max(0, (suite.declared ?? 0) - suite.cases);
    },
  });

  await streamText(file, (text, bytesRead) => {
    scanner.write(text);
    if (state.root === null && (firstXmlError !== null || bytesRead > ROOT_WITHIN_BYTES)) {
      throw notJUnit(file, firstXmlError ?? `no XML element in its first ${ROOT_WITHIN_BYTES / 1024} KB`);
    }
  });
  // close() reports what is still open at the end: the position where a truncated file stops.
  scanner.close();
  if (state.root === null) throw notJUnit(file, firstXmlError ?? 'the file is empty');
  if (state.root !== 'testsuites' && state.root !== 'testsuite') {
    throw notJUnit(file, `its root element is <${state.root}>, expected <testsuites> or <testsuite>`);
  }
  // mocha-junit-reporter counts pending tests in `tests` and the root's `skipped` but writes no test
  // case for them: count them as the runner did.
  for (let i = 1; i <= Math.min(state.unwritten, state.rootSkipped - state.skipped); i++) {
    const pending: TestCaseRecord = { id: '', outcome: 'skipped', timeMs: 0, failure: null, output: '', attachments: NO_ATTACHMENTS, file };
    onCase(pending, file, `(pending, not written) ${i}`, '', false);
  }
  const cutOff = state.current;
  if (cutOff !== null) {
    if (state.openDetail !== null && cutOff.record.failure === null) {
      cutOff.record.failure = { ...state.openDetail.detail, body: keptBody(cutOff) };
    }
    // A test cut off mid-way only counts if it had already failed: a half-written pass proves nothing.
    if (cutOff.record.failure !== null) onCase(finishCase(cutOff), cutOff.classname, cutOff.testName, cutOff.scope, cutOff.retryable);
    warnings.push(`${file}: the report ends inside testcase ${idOf(cutOff.classname, cutOff.testName)}`);
  }
  if (xmlErrors > MAX_XML_WARNINGS) warnings.push(`${file}: ${xmlErrors - MAX_XML_WARNINGS} more XML errors`);
  if (firstXmlError !== null && !state.rootClosed) {
    // A report that breaks off is a run that broke off: never let it read as a clean pass. A report
    // that closes its root element is complete, whatever stray bytes it held on the way.
    onCase(
      {
        id: `${file}::(report cut off)`,
        outcome: 'errored',
        timeMs: 0,
        failure: { kind: 'error', type: 'IncompleteReport', message: `the JUnit report is incomplete: ${firstXmlError}`, body: '' },
        output: '',
        attachments: NO_ATTACHMENTS,
        file,
      },
      file,
      '(report cut off)',
      '',
      false,
    );
  }
  return warnings;
}

function notJUnit(file: string, why: string): LoopError {
  return new LoopError(FailureType.NoJUnitReport, `${file} is not a JUnit XML report: ${why}`, { file });
}

/**
 * C0 control characters are not allowed in XML 1.0, yet runners copy raw terminal output (ANSI
 * colours, backspaces) into system-out. In the text kept of a report, ANSI sequences are dropped and
 * other control characters become U+FFFD: nothing raw reaches a terminal later.
 */
const CONTROL = /[\x00-\x08\x0B\x0C\x0E-\x1F]/;
const CONTROL_OR_ANSI = /\x1B\[[0-?]*[ -\/]*[@-~]|[\x00-\x08\x0B\x0C\x0E-\x1F]/g;
function withoutControlChars(text: string): string {
  return CONTROL.test(text) ? text.replace(CONTROL_OR_ANSI, (m) => (m.length > 1 ? '' : '\uFFFD')) : text;
}

/** An encoding named by a byte order mark, by UTF-16 byte patterns, or by the XML declaration. */
function detectEncoding(head: Buffer): { encoding: string; bom: number } {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bom: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bom: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bom: 2 };
  if (head[0] === 0x3c && head[1] === 0x00) return { encoding: 'utf-16le', bom: 0 };
  if (head[0] === 0x00 && head[1] === 0x3c) return { encoding: 'utf-16be', bom: 0 };
  const declared = /^<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head.toString('latin1', 0, 200));
  return { encoding: declared ? declared[1].toLowerCase() : 'utf-8', bom: 0 };
}

/** A decoder for `encoding`: Node's fast UTF-8 one, else the WHATWG TextDecoder. */
function decoderFor(file: string, encoding: string): (bytes: Buffer, end: boolean) => string {
  if (encoding === 'utf-8' || encoding === 'utf8') {
    const utf8 = new StringDecoder('utf8');
    return (bytes, end) => (end ? utf8.end() : utf8.write(bytes));
  }
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(encoding);
  } catch {
    throw notJUnit(file, `its XML declaration names the encoding ${encoding}, which cannot be decoded`);
  }
  return (bytes, end) => decoder.decode(bytes, { stream: !end });
}

/**
 * Streams `file` as text in its own encoding, without control characters, to `onText` (which may
 * throw to stop reading). Refuses files over MAX_REPORT_BYTES, also ones whose size is unknown.
 */
async function streamText(file: string, onText: (text: string, bytesRead: number) => void): Promise<void> {
  const readError = (err: NodeJS.ErrnoException) =>
    new LoopError(FailureType.NoJUnitReport, `cannot read JUnit report ${file}: ${READ_ERRORS[err.code ?? ''] ?? err.message}`, { file });
  const tooLarge = () =>
    new LoopError(FailureType.NoJUnitReport, `JUnit report ${file} is larger than the ${MAX_REPORT_BYTES / 1024 ** 3} GiB limit for a report`, { file });
  const size = await fs.promises.stat(file).then(
    (stat) => (stat.isFile() ? stat.size : 0),
    (err: NodeJS.ErrnoException) => {
      throw readError(err);
    },
  );
  if (size > MAX_REPORT_BYTES) throw tooLarge();
  await new Promise<void>((resolve, reject) => {
    // A small report gets a buffer of its own size: a 1 MB buffer per small report is memory the
    // diagnosis thread holds until its next garbage collection, tens of MB on a busy worker.
    const stream = fs.createReadStream(file, { highWaterMark: size > 0 ? Math.min(size, READ_CHUNK_BYTES) : ROOT_WITHIN_BYTES });
    let decode: ((bytes: Buffer, end: boolean) => string) | null = null;
    let bytesRead = 0;
    const emit = (text: string) => {
      if (text) onText(text, bytesRead);
    };
    const fail = (err: unknown) => {
      stream.destroy();
      reject(err);
    };
    stream.on('data', (chunk) => {
      let bytes = chunk as Buffer;
      bytesRead += bytes.length;
      try {
        if (bytesRead > MAX_REPORT_BYTES) throw tooLarge();
        if (decode === null) {
          const { encoding, bom } = detectEncoding(bytes);
          decode = decoderFor(file, encoding);
          bytes = bytes.subarray(bom);
        }
        emit(decode(bytes, false));
      } catch (err) {
        fail(err);
      }
    });
    stream.on('error', (err: NodeJS.ErrnoException) => reject(readError(err)));
    stream.on('end', () => {
      try {
        emit(decode ? decode(Buffer.alloc(0), true) : '');
        resolve();
      } catch (err) {
        reject(err);
      }
    });
  });
}

interface ReaderState {
  root: string | null;
  /** The root element was closed: the report is complete. */
  rootClosed: boolean;
  /** The root's `skipped` attribute, the skipped test cases read, and the test cases suites count but do not hold. */
  rootSkipped: number;
  skipped: number;
  unwritten: number;
  /** The open `<testsuite>` elements, innermost last. */
  suites: OpenSuite[];
  /** How often each scope was seen in this file: a repeated suite element is another one. */
  scopesSeen: Map<string, number>;
  current: OpenCase | null;
  /**
   * A finished test case that nothing kept (most pass): the next one reuses it and its record, so a
   * passing test allocates no objects of its own (at a million tests, their garbage was most of the
   * collector's work).
   */
  spare: OpenCase | null;
  /** Where text goes: the failure body, the test's output, a suite's own output, or nowhere. */
  capture: 'body' | 'output' | 'suite' | null;
  captureDepth: number;
  depth: number;
  openDetail: { target: 'failure' | 'rerun' | 'flaky'; detail: FailureDetail } | null;
}

interface OpenSuite {
  name: string;
  /** Which suite element of the run it is (see OpenCase.scope). */
  scope: string;
  /** Its `tests` attribute: how many tests the runner counted in it (null: not given). */
  declared: number | null;
  /** Its `errors` + `failures` attributes. */
  declaredProblems: number;
  /** Its `errors` attribute. */
  declaredErrors: number;
  cases: number;
  childSuites: number;
  /**
   * Its own system-out/system-err, when it has no test case or failed ones (see the closing tag).
   */
  output: LogBuffer;
  /** Its failed test cases (bounded): the suite's output may be theirs. */
  failures: TestCaseRecord[];
  /** Its failed and errored test cases, counted. */
  failing: number;
  /** Its test cases with more than one `<failure>`/`<error>` (see OpenCase.moreFailures). */
  more: { record: TestCaseRecord; open: OpenCase }[];
}

const attrCount = (value: string | undefined) => (value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : null);

function openElement(state: ReaderState, file: string, name: string, attrs: Attributes): void {
  state.depth++;
  if (state.root === null) {
    state.root = name;
    state.rootSkipped = attrCount(attrs.get('skipped')) ?? 0;
  }
  const suite = state.suites[state.suites.length - 1];
  if (name === 'testsuite') {
    if (suite) suite.childSuites++;
    // Playwright writes one suite per file and project, the project in `hostname`; Newman one per request.
    const suiteName = attrs.get('name') ?? '';
    const errors = attrCount(attrs.get('errors')) ?? 0;
    let scope = `${suite?.scope ?? ''}/${suiteName}@${attrs.get('hostname') ?? ''}`;
    const seen = state.scopesSeen.get(scope) ?? 0;
    state.scopesSeen.set(scope, seen + 1);
    if (seen > 0) scope += `#${seen}`;
    state.suites.push({
      name: suiteName,
      scope,
      declared: attrCount(attrs.get('tests')),
      declaredProblems: errors + (attrCount(attrs.get('failures')) ?? 0),
      declaredErrors: errors,
      cases: 0,
      childSuites: 0,
      output: new LogBuffer(),
      failures: [],
      failing: 0,
      more: [],
    });
    return;
  }
  if (name === 'testcase') {
    const classname = attrs.get('classname') || attrs.get('class') || suite?.name || '';
    const testName = attrs.get('name') ?? '';
    if (suite) suite.cases++;
    // Every field is set here, on a spare or on a new object alike (they get the same shape).
    const open = state.spare ?? ({ record: {} } as OpenCase);
    state.spare = null;
    const record = open.record;
    record.id = '';
    record.outcome = 'passed';
    record.timeMs = Math.round(parseSeconds(attrs.get('time')) * 1000);
    record.failure = null;
    record.output = '';
    record.attachments = NO_ATTACHMENTS;
    record.file = file;
    open.classname = classname;
    open.testName = testName;
    open.scope = suite?.scope ?? '';
    // More test cases than the suite says it has: the extra ones are retries.
    open.retryable = suite?.declared == null || suite.cases > suite.declared;
    open.flakyAttempt = null;
    open.moreFailures = null;
    open.rerunFailure = null;
    open.skipped = false;
    open.body = '';
    open.causes = null;
    open.output = null;
    state.current = open;
    return;
  }
  const open = state.current;
  if (open === null) {
    if ((name === 'system-out' || name === 'system-err') && (suite?.cases === 0 || (suite?.failures.length ?? 0) > 0) && state.capture === null) {
      state.capture = 'suite';
      state.captureDepth = state.depth;
    }
    return;
  }
  if (name === 'skipped') {
    open.skipped = true;
  } else if (name === 'system-out' || name === 'system-err') {
    if (state.capture === null && hasFailed(open)) {
      // Output is kept for failing tests only; runners write it after the failure element.
      state.capture = 'output';
      state.captureDepth = state.depth;
    }
  } else {
    const element = DETAIL_ELEMENTS.get(name);
    if (element !== undefined && state.openDetail === null) openDetail(state, open, element, attrs);
  }
}

function openDetail(state: ReaderState, open: OpenCase, { kind, target }: DetailElement, attrs: Attributes): void {
  state.openDetail = {
    target,
    detail: { kind, type: kept(attrs.get('type') ?? '', 200), message: kept(attrs.get('message') ?? '', MAX_MESSAGE_CHARS), body: '' },
  };
  open.body = '';
  state.capture = 'body';
  state.captureDepth = state.depth;
}

/** Returns the test case that `name` closes, if it closes one. */
function closeElement(state: ReaderState, name: string): OpenCase | null {
  const open = state.current;
  if (state.capture === 'suite' && state.depth === state.captureDepth) state.capture = null;
  if (state.capture !== null && state.depth === state.captureDepth && open !== null) {
    if (state.openDetail !== null) {
      const { target, detail } = state.openDetail;
      detail.body = keptBody(open);
      if (target === 'failure' && open.record.failure !== null) (open.moreFailures ??= []).push(detail);
      else if (target === 'failure') open.record.failure = detail;
      else if (target === 'rerun') open.rerunFailure ??= detail;
      else open.flakyAttempt ??= detail;
      state.openDetail = null;
    }
    state.capture = null;
  }
  state.depth--;
  if (state.depth === 0) state.rootClosed = true;
  if (name === 'testsuite') state.suites.pop();
  if (name !== 'testcase' || open === null) return null;
  state.current = null;
  return open;
}

function hasFailed(open: OpenCase): boolean {
  return open.record.failure !== null || open.rerunFailure !== null || open.flakyAttempt !== null;
}

function finishCase(open: OpenCase): TestCaseRecord {
  const record = open.record;
  if (record.failure === null && open.rerunFailure !== null) record.failure = open.rerunFailure;
  if (record.failure !== null) {
    record.outcome = record.failure.kind === 'error' ? 'errored' : 'failed';
  } else if (open.flakyAttempt !== null) {
    record.outcome = 'flaky';
    record.failure = open.flakyAttempt;
  } else if (open.skipped) {
    record.outcome = 'skipped';
  }
  if (record.outcome !== 'passed' && record.outcome !== 'skipped') {
    const output = open.output?.text() ?? '';
    record.output = output;
    if (output.includes('[[ATTACHMENT|')) {
      record.attachments = [...output.matchAll(/\[\[ATTACHMENT\|([^\]]+)\]\]/g)].map((m) => own(m[1]));
    }
  }
  return record;
}

/** Failed tests of one suite that its own output is given to. */
const MAX_SUITE_FAILURES = 1000;

/** JVM exception chains: the root cause is in the last `Caused by:` lines, often past the kept text. */
const MAX_CAUSES = 5;

/**
 * A test's log, bounded: its start, its end (where a crash or an exit says why) and the exception
 * chains logged in between. Linear in the log's length, whatever the size of its pieces.
 */
class LogBuffer {
  private head = '';
  private tail = '';
  private readonly causes: string[] = [];

  append(text: string): void {
    const room = MAX_OUTPUT_CHARS / 2 - this.head.length;
    if (room > 0) this.head += text.slice(0, room);
    const rest = room > 0 ? text.slice(room) : text;
    if (rest === '') return;
    this.tail = (this.tail + rest).slice(-MAX_OUTPUT_CHARS / 2);
    if (this.causes.length < MAX_CAUSES && rest.includes('Caused by:')) this.causes.push(...causesIn(rest));
  }

  get empty(): boolean {
    return this.head === '';
  }

  text(): string {
    return kept((this.tail ? [this.head, '…', ...this.causes.slice(0, MAX_CAUSES), '…', this.tail].join('\n') : this.head).trim(), MAX_OUTPUT_CHARS * 2);
  }
}
const CAUSED_BY = /^[ \t]*Caused by: .{0,300}/gm;

function causesIn(text: string): string[] {
  return [...text.matchAll(CAUSED_BY)].slice(0, MAX_CAUSES).map((m) => m[0].trim());
}

/** Text of a report as kept: at most `max` characters, without control characters, in memory of its own. */
function kept(text: string, max: number): string {
  return own(withoutControlChars(clipText(text, max)));
}

/** The first MAX_BODY_CHARS of a failure's text, and the `Caused by:` lines after them. */
function keptBody(open: OpenCase): string {
  const body = open.body.trim();
  if (body.length <= MAX_BODY_CHARS) return kept(body, MAX_BODY_CHARS);
  const causes = [...causesIn(body.slice(MAX_BODY_CHARS)), ...(open.causes ?? [])].slice(0, MAX_CAUSES);
  return kept([clipText(body, MAX_BODY_CHARS), ...causes].join('\n'), MAX_BODY_CHARS * 2);
}

/** A suite that reports errors but holds no test case (Newman, when a request cannot be sent): one errored entry. */
function suiteFailure(suite: OpenSuite, file: string): TestCaseRecord {
  const text = suite.output.text();
  // Newman starts with the iteration number.
  const message = text.split('\n', 3).find((l) => l.trim() && !/^Iteration: \d+$/.test(l.trim())) ?? '';
  return {
    id: '',
    outcome: 'errored',
    timeMs: 0,
    failure: { kind: 'error', type: '', message: kept(message, MAX_MESSAGE_CHARS), body: kept(text, MAX_BODY_CHARS) },
    output: '',
    attachments: NO_ATTACHMENTS,
    file,
  };
}

type Repeat = { passes: number; fails: number; fixtureError: boolean };


/** The tests of one suite element whose ids have one part before their first `::` (`null`: ids without `::`). */
interface Bucket {
  prefix: string | null;
  scope: string;
  /** The bucket's first slot; most buckets of a report hold several tests, some only one. */
  first: number;
  /**
   * Its later slots, until a repeat has to be looked up (only for a test case past its suite
   * element's `tests` count, or a pytest setup/teardown error): most buckets never hash a name.
   */
  later: number[] | null;
  /** Slots by the rest of the id, from the first lookup on. */
  byRest: Map<string, number> | null;
}

/**
 * Combines the records of one test. Most tests pass once and carry nothing but an id, an outcome
 * and a time: those are kept in columns, not as objects, and a TestResult is only built for them on
 * request. Tests with a failure, output or attachments (few) keep their record.
 *
 * A test is its suite element and its id. A record repeating one is a retry only when the runner
 * retried: after a failure, in a suite element holding more test cases than its `tests` attribute
 * counts (or none given), or in a later report (suite.rerunFailed); or it is pytest's separate
 * setup/teardown error. Otherwise it is another test of the same name (a data-provider case, a
 * duplicate title), as the runner counted it.
 *
 * Ids are found by their two parts, split at the id's first `::`: `classname` and `name` in nearly
 * every case. The tests of one class come one after another, so the class part is compared with the
 * last one seen (no hashing); the name is hashed only when a repeat has to be looked up (see
 * Bucket), and no whole id is built for a test that passes.
 */
export class TestTable {
  private readonly buckets = new Map<string, Bucket>();
  private last: Bucket | null = null;
  /** Per test, in order of first appearance: its id's two parts (copies: nothing kept points into the input). */
  private readonly prefixes: (string | null)[] = [];
  private readonly rests: string[] = [];
  readonly outcomes: Outcome[] = [];
  readonly times: number[] = [];
  private readonly files: string[] = [];
  /** The records of tests that are more than an id, an outcome and a time; kept in step with the columns. */
  private readonly records = new Map<number, TestResult>();
  /** Only for ids seen more than once (rare): how their attempts went. */
  private readonly repeats = new Map<number, Repeat>();
  /** Failed tests by id (few): a rerun report may group its tests into other suite elements. */
  private readonly failing = new Map<string, number>();
  /** The files those failed tests came from: a record of the only one cannot be a later report's rerun. */
  private readonly failingFiles = new Set<string>();
  private settled = false;

  get size(): number {
    return this.rests.length;
  }

  id(slot: number): string {
    const prefix = this.prefixes[slot];
    return prefix === null ? this.rests[slot] : `${prefix}::${this.rests[slot]}`;
  }

  /** The test's id is `classname::testName`, or `testName` when classname is `''`; `record.id` is not read. */
  add(record: TestCaseRecord, classname: string, testName: string, scope: string, retryable: boolean): void {
    this.locate(classname, testName, scope);
    const same = retryable || isFixturePhaseError(record.failure) ? this.latest(this.found.bucket, this.found.rest) : -1;
    const slot = same >= 0 ? same : this.failedElsewhere(classname, testName, record.file);
    if (slot >= 0 && (isFailing(this.outcomes[slot]) || isFixturePhaseError(record.failure))) {
      this.retry(slot, record);
      return;
    }
    const n = this.create(this.found.bucket, this.found.rest);
    this.outcomes.push(record.outcome);
    this.times.push(record.timeMs);
    this.files.push(record.file);
    if (record.failure !== null || record.output !== '' || record.attachments.length > 0) {
      record.id = this.id(n);
      this.records.set(n, record);
    }
    if (isFailing(record.outcome)) {
      this.failing.set(record.id || this.id(n), n);
      this.failingFiles.add(record.file);
    }
  }

  private retry(slot: number, record: TestCaseRecord): void {
    const seen = this.result(slot);
    let repeat = this.repeats.get(slot);
    if (repeat === undefined) {
      repeat = { passes: 0, fails: 0, fixtureError: false };
      count(repeat, seen);
      this.repeats.set(slot, repeat);
    }
    count(repeat, record);
    seen.timeMs += record.timeMs;
    if (seen.failure === null && record.failure !== null) {
      seen.failure = record.failure;
      seen.output = record.output;
      seen.attachments = record.attachments;
    }
    seen.outcome = combine(seen.outcome, record.outcome);
    this.times[slot] = seen.timeMs;
    this.outcomes[slot] = seen.outcome;
  }

  /** A test of an earlier file that failed, with this id: a rerun report names it in its own suites. */
  private failedElsewhere(classname: string, testName: string, file: string): number {
    if (this.failing.size === 0 || (this.failingFiles.size === 1 && this.failingFiles.has(file))) return -1;
    const slot = this.failing.get(idOf(classname, testName));
    return slot !== undefined && this.files[slot] !== file ? slot : -1;
  }

  /** Where the last `locate` says a test goes (a field, not a result object: this runs for every test). */
  private readonly found: { bucket: Bucket; rest: string } = { bucket: { prefix: null, scope: '', first: -1, later: null, byRest: null }, rest: '' };

  /** Sets `found` to the bucket of the test with this id in this suite element and the rest of its id. */
  private locate(classname: string, testName: string, scope: string): void {
    let bucket: Bucket;
    let rest = testName;
    const last = this.last;
    if (last !== null && classname !== '' && classname === last.prefix && scope === last.scope) {
      bucket = last;
    } else if (classname !== '' && !classname.includes('::') && !classname.endsWith(':')) {
      // The id's first `::` is the one after the classname.
      bucket = this.bucket(classname, scope);
    } else {
      const id = idOf(classname, testName);
      const at = id.indexOf('::');
      bucket = this.bucket(at < 0 ? null : id.slice(0, at), scope);
      rest = at < 0 ? id : id.slice(at + 2);
    }
    if (bucket.prefix !== null) this.last = bucket;
    this.found.bucket = bucket;
    this.found.rest = rest;
  }

  /** The latest slot of the test `rest` in `bucket` (-1: none). */
  private latest(bucket: Bucket, rest: string): number {
    if (bucket.later !== null) {
      const byRest = new Map([[this.rests[bucket.first], bucket.first]]);
      for (const slot of bucket.later) byRest.set(this.rests[slot], slot);
      bucket.byRest = byRest;
      bucket.later = null;
    }
    if (bucket.byRest !== null) return bucket.byRest.get(rest) ?? -1;
    return bucket.first >= 0 && this.rests[bucket.first] === rest ? bucket.first : -1;
  }

  private create(bucket: Bucket, rest: string): number {
    const n = this.rests.length;
    const kept = own(rest);
    if (bucket.first < 0) bucket.first = n;
    else if (bucket.byRest !== null) bucket.byRest.set(kept, n);
    else (bucket.later ??= []).push(n);
    this.prefixes.push(bucket.prefix);
    this.rests.push(kept);
    return n;
  }

  private bucket(prefix: string | null, scope: string): Bucket {
    const key = prefix === null ? `${scope}\u0001` : `${scope}\u0000${prefix}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { prefix: prefix === null ? null : own(prefix), scope, first: -1, later: null, byRest: null };
      this.buckets.set(own(key), bucket);
    }
    return bucket;
  }

  /** The test in slot `i` (its kept record, or one built from the columns). */
  result(i: number): TestResult {
    let record = this.records.get(i);
    if (record === undefined) {
      record = this.build(i);
      this.records.set(i, record);
    }
    return record;
  }

  private build(i: number): TestResult {
    return { id: this.id(i), outcome: this.outcomes[i], timeMs: this.times[i], failure: null, output: '', attachments: NO_ATTACHMENTS, file: this.files[i] };
  }

  /** Decides the outcome of repeated tests; call once all records are in. */
  settle(): this {
    if (this.settled) return this;
    this.settled = true;
    for (const [slot, { passes, fails, fixtureError }] of this.repeats) {
      // A pass and a failure of the same test is a rerun that passed: flaky. Not so when the second
      // record is pytest's separate setup/teardown error: that is a failure of its own.
      if (passes > 0 && fails > 0) this.outcomes[slot] = this.result(slot).outcome = fixtureError ? 'errored' : 'flaky';
    }
    return this;
  }

  results(): TestResult[] {
    this.settle();
    const out: TestResult[] = new Array(this.size);
    for (let i = 0; i < out.length; i++) out[i] = this.records.get(i) ?? this.build(i);
    return out;
  }
}

/** How many tests ended each way (compared, not counted by key: this runs once per test of a report). */
export function countOutcomes(outcomes: readonly Outcome[]): TestCounts {
  let [passed, failed, errored, skipped, flaky] = [0, 0, 0, 0, 0];
  for (let i = 0; i < outcomes.length; i++) {
    const outcome = outcomes[i];
    if (outcome === 'passed') passed++;
    else if (outcome === 'failed') failed++;
    else if (outcome === 'errored') errored++;
    else if (outcome === 'skipped') skipped++;
    else flaky++;
  }
  return { total: outcomes.length, passed, failed, errored, skipped, flaky };
}

function isFailing(outcome: Outcome): boolean {
  return outcome === 'failed' || outcome === 'errored';
}

function count(repeat: Repeat, record: TestResult): void {
  if (record.outcome === 'passed') repeat.passes++;
  if (record.outcome === 'failed' || record.outcome === 'errored') repeat.fails++;
  repeat.fixtureError ||= isFixturePhaseError(record.failure);
}

/** The stronger of two outcomes of one test: failures win over flaky over passes over skips. */
function combine(a: Outcome, b: Outcome): Outcome {
  const rank: Record<Outcome, number> = { skipped: 0, passed: 1, flaky: 2, errored: 3, failed: 4 };
  return rank[b] > rank[a] ? b : a;
}

/** Reads several JUnit files (one run) into one result per test id. */
export async function readJUnitFiles(paths: readonly string[]): Promise<JUnitReadResult> {
  const { table, warnings } = await readJUnitTable(paths);
  return { tests: table.results(), warnings };
}

/** readJUnitFiles without a TestResult object per test: what diagnose() reads from. */
export async function readJUnitTable(paths: readonly string[]): Promise<{ table: TestTable; warnings: string[] }> {
  const table = new TestTable();
  const warnings: string[] = [];
  const add = table.add.bind(table);
  for (const file of paths) warnings.push(...(await readJUnitFile(file, add)));
  return { table: table.settle(), warnings };
}
