/**
 * A streaming, lenient JUnit XML reader for the dialects real runners write (pytest, jest-junit,
 * mocha, go-junit-report/gotestsum, Maven Surefire, Playwright): see ../../../shared/FACTS.md.
 * Files are read in chunks and only per-test data is kept, with bounded text, so a 20,000-case
 * report stays cheap. A truncated or malformed file yields what could be read plus warnings.
 */
import * as fs from 'node:fs';
import { SaxesParser } from 'saxes';
import { FailureType, LoopError } from '../errors';

/** Text kept per failure: the first lines are what clustering and the report need. */
const MAX_BODY_CHARS = 4096;
const MAX_MESSAGE_CHARS = 1024;
const MAX_OUTPUT_CHARS = 2048;
/** XML errors reported per file; a broken file can produce thousands. */
const MAX_XML_WARNINGS = 5;

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
  /** Playwright `[[ATTACHMENT|path]]` paths. */
  attachments: string[];
  /** The report file it came from. */
  file: string;
}

/** One test after its records are combined: reruns with mixed outcomes make it flaky. */
export interface TestResult {
  id: string;
  outcome: Outcome;
  timeMs: number;
  /** The first failure seen for the test (also for flaky tests: the failed attempt). */
  failure: FailureDetail | null;
  output: string;
  attachments: string[];
  file: string;
}

export interface JUnitReadResult {
  tests: TestResult[];
  warnings: string[];
}

/** `time="1,234.5"` (thousands separator) and `time="0,25"` (decimal comma) both occur. */
export function parseSeconds(value: string | undefined): number {
  if (!value) return 0;
  const text = value.trim();
  const normal = !text.includes(',') ? text : /^\d{1,3}(,\d{3})+(\.\d+)?$/.test(text) ? text.replace(/,/g, '') : text.replace(',', '.');
  const seconds = Number.parseFloat(normal);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
}

function truncate(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

/** pytest writes a setup/teardown error as its own `<error message="failed on teardown ...">`. */
function isFixturePhaseError(detail: FailureDetail | null): boolean {
  return detail !== null && detail.kind === 'error' && /^failed on (setup|teardown)\b/i.test(detail.message);
}

interface OpenCase {
  record: TestCaseRecord;
  /** Surefire: `<flakyFailure>` means a failed attempt before a pass. */
  flakyAttempt: FailureDetail | null;
  /** Surefire: `<rerunFailure>` means the reruns failed too. */
  rerunFailure: FailureDetail | null;
  skipped: boolean;
  body: string;
  output: string;
}

const READ_ERRORS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory' };

const FAILURE_ELEMENTS: Record<string, 'failure' | 'error'> = { failure: 'failure', error: 'error' };
const RERUN_ELEMENTS: Record<string, 'failure' | 'error'> = { rerunFailure: 'failure', rerunError: 'error' };
const FLAKY_ELEMENTS: Record<string, 'failure' | 'error'> = { flakyFailure: 'failure', flakyError: 'error' };

/**
 * Streams one JUnit file and calls `onCase` for every `<testcase>`. Returns the file's warnings.
 * Throws LoopError(NoJUnitReport) only when the file cannot be read or is not a JUnit report at all.
 */
export async function parseJUnitFile(file: string, onCase: (record: TestCaseRecord) => void): Promise<string[]> {
  const warnings: string[] = [];
  const state: ReaderState = { root: null, suites: [], current: null, capture: null, captureDepth: 0, depth: 0, openDetail: null };
  let xmlErrors = 0;
  let firstXmlError: string | null = null;
  let lastErrorAt = '';

  const parser = new SaxesParser({ fileName: file });
  parser.on('error', (err) => {
    // At the end of a truncated file every still-open element reports at the same position: say it once.
    const at = `${parser.line}:${parser.column}`;
    if (at === lastErrorAt) return;
    lastErrorAt = at;
    xmlErrors++;
    const message = err.message.split('\n')[0];
    firstXmlError ??= message;
    if (xmlErrors <= MAX_XML_WARNINGS) warnings.push(`${message} (kept what came before)`);
  });
  const onText = (text: string) => {
    const open = state.current;
    if (open === null || state.capture === null) return;
    if (state.capture === 'body') {
      if (open.body.length < MAX_BODY_CHARS) open.body += text;
    } else if (open.output.length < MAX_OUTPUT_CHARS) open.output += text;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('opentag', (tag) => openElement(state, file, tag.name, tag.attributes as Record<string, string>));
  parser.on('closetag', (tag) => {
    const done = closeElement(state, tag.name);
    if (done !== null) onCase(done);
  });

  await new Promise<void>((resolve, reject) => {
    const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 });
    stream.on('data', (chunk) => parser.write(chunk as string));
    stream.on('error', (err: NodeJS.ErrnoException) =>
      reject(new LoopError(FailureType.NoJUnitReport, `cannot read JUnit report ${file}: ${READ_ERRORS[err.code ?? ''] ?? err.message}`, { file })),
    );
    stream.on('end', () => resolve());
  });
  // close() reports what is still open at the end: the position where a truncated file stops.
  parser.close();
  if (state.root === null) {
    throw new LoopError(FailureType.NoJUnitReport, `${file} is not a JUnit XML report: ${firstXmlError ?? 'the file is empty'}`, { file });
  }
  if (state.root !== 'testsuites' && state.root !== 'testsuite') {
    throw new LoopError(
      FailureType.NoJUnitReport,
      `${file} is not a JUnit XML report: its root element is <${state.root}>, expected <testsuites> or <testsuite>`,
      { file },
    );
  }
  const cutOff = state.current;
  if (cutOff !== null) {
    if (state.openDetail !== null && cutOff.record.failure === null) {
      cutOff.record.failure = { ...state.openDetail.detail, body: truncate(cutOff.body.trim(), MAX_BODY_CHARS) };
    }
    // A test cut off mid-way only counts if it had already failed: a half-written pass proves nothing.
    if (cutOff.record.failure !== null) onCase(finishCase(cutOff));
    warnings.push(`${file}: the report ends inside testcase ${cutOff.record.id}`);
  }
  if (xmlErrors > MAX_XML_WARNINGS) warnings.push(`${file}: ${xmlErrors - MAX_XML_WARNINGS} more XML errors`);
  if (firstXmlError !== null) {
    // A report that breaks off is a run that broke off: never let it read as a clean pass.
    onCase({
      id: `${file}::(report cut off)`,
      outcome: 'errored',
      timeMs: 0,
      failure: { kind: 'error', type: 'IncompleteReport', message: `the JUnit report is incomplete: ${firstXmlError}`, body: '' },
      output: '',
      attachments: [],
      file,
    });
  }
  return warnings;
}

interface ReaderState {
  root: string | null;
  suites: string[];
  current: OpenCase | null;
  /** Where text goes: the failure body, the test's output, or nowhere. */
  capture: 'body' | 'output' | null;
  captureDepth: number;
  depth: number;
  openDetail: { target: 'failure' | 'rerun' | 'flaky'; detail: FailureDetail } | null;
}

function openElement(state: ReaderState, file: string, name: string, attrs: Record<string, string>): void {
  state.depth++;
  if (state.root === null) state.root = name;
  if (name === 'testsuite') {
    state.suites.push(attrs.name ?? '');
    return;
  }
  if (name === 'testcase') {
    const classname = attrs.classname || attrs.class || state.suites[state.suites.length - 1] || '';
    const testName = attrs.name ?? '';
    state.current = {
      record: {
        id: classname ? `${classname}::${testName}` : testName,
        outcome: 'passed',
        timeMs: Math.round(parseSeconds(attrs.time) * 1000),
        failure: null,
        output: '',
        attachments: [],
        file,
      },
      flakyAttempt: null,
      rerunFailure: null,
      skipped: false,
      body: '',
      output: '',
    };
    return;
  }
  const open = state.current;
  if (open === null) return;
  const kind = FAILURE_ELEMENTS[name] ?? RERUN_ELEMENTS[name] ?? FLAKY_ELEMENTS[name];
  if (kind !== undefined && state.openDetail === null) {
    state.openDetail = {
      target: FAILURE_ELEMENTS[name] ? 'failure' : RERUN_ELEMENTS[name] ? 'rerun' : 'flaky',
      detail: { kind, type: truncate(attrs.type ?? '', 200), message: truncate(attrs.message ?? '', MAX_MESSAGE_CHARS), body: '' },
    };
    open.body = '';
    state.capture = 'body';
    state.captureDepth = state.depth;
  } else if (name === 'skipped') {
    open.skipped = true;
  } else if ((name === 'system-out' || name === 'system-err') && state.capture === null && hasFailed(open)) {
    // Output is kept for failing tests only; runners write it after the failure element.
    state.capture = 'output';
    state.captureDepth = state.depth;
  }
}

/** Returns the finished test case when `name` closes one. */
function closeElement(state: ReaderState, name: string): TestCaseRecord | null {
  const open = state.current;
  if (state.capture !== null && state.depth === state.captureDepth && open !== null) {
    if (state.openDetail !== null) {
      const { target, detail } = state.openDetail;
      detail.body = truncate(open.body.trim(), MAX_BODY_CHARS);
      if (target === 'failure') open.record.failure ??= detail;
      else if (target === 'rerun') open.rerunFailure ??= detail;
      else open.flakyAttempt ??= detail;
      state.openDetail = null;
    }
    state.capture = null;
  }
  state.depth--;
  if (name === 'testsuite') state.suites.pop();
  if (name !== 'testcase' || open === null) return null;
  state.current = null;
  return finishCase(open);
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
    record.output = truncate(open.output.trim(), MAX_OUTPUT_CHARS);
    for (const match of open.output.matchAll(/\[\[ATTACHMENT\|([^\]]+)\]\]/g)) record.attachments.push(match[1]);
  }
  return record;
}

/** Combines the records of one test id. */
class TestAccumulator {
  private readonly tests = new Map<string, TestResult>();
  /** Only for ids seen more than once (rare): how their attempts went. */
  private readonly repeats = new Map<string, { passes: number; fails: number; fixtureError: boolean }>();

  add(record: TestCaseRecord): void {
    const seen = this.tests.get(record.id);
    if (seen === undefined) {
      this.tests.set(record.id, record);
      return;
    }
    const repeat = this.repeats.get(record.id) ?? { passes: 0, fails: 0, fixtureError: false };
    if (!this.repeats.has(record.id)) {
      this.count(repeat, seen);
      this.repeats.set(record.id, repeat);
    }
    this.count(repeat, record);
    seen.timeMs += record.timeMs;
    if (seen.failure === null && record.failure !== null) {
      seen.failure = record.failure;
      seen.output = record.output;
      seen.attachments = record.attachments;
    }
    seen.outcome = combine(seen.outcome, record.outcome);
  }

  private count(repeat: { passes: number; fails: number; fixtureError: boolean }, record: TestResult): void {
    if (record.outcome === 'passed') repeat.passes++;
    if (record.outcome === 'failed' || record.outcome === 'errored') repeat.fails++;
    repeat.fixtureError ||= isFixturePhaseError(record.failure);
  }

  results(): TestResult[] {
    for (const [id, { passes, fails, fixtureError }] of this.repeats) {
      // A pass and a failure of the same test is a rerun that passed: flaky. Not so when the second
      // record is pytest's separate setup/teardown error: that is a failure of its own.
      if (passes > 0 && fails > 0) this.tests.get(id)!.outcome = fixtureError ? 'errored' : 'flaky';
    }
    return [...this.tests.values()];
  }
}

/** The stronger of two outcomes of one test: failures win over flaky over passes over skips. */
function combine(a: Outcome, b: Outcome): Outcome {
  const rank: Record<Outcome, number> = { skipped: 0, passed: 1, flaky: 2, errored: 3, failed: 4 };
  return rank[b] > rank[a] ? b : a;
}

/** Reads several JUnit files (one run) into one result per test id. */
export async function readJUnitFiles(paths: readonly string[]): Promise<JUnitReadResult> {
  const accumulator = new TestAccumulator();
  const warnings: string[] = [];
  for (const file of paths) warnings.push(...(await parseJUnitFile(file, (record) => accumulator.add(record))));
  return { tests: accumulator.results(), warnings };
}
