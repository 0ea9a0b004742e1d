/**
 * A streaming, lenient JUnit XML reader for the dialects real runners write (pytest, jest-junit,
 * mocha, go-junit-report/gotestsum, Maven Surefire, Playwright): see ../../../shared/FACTS.md.
 * Files are read in chunks and only per-test data is kept, with bounded text, so a 20,000-case
 * report stays cheap. A truncated or malformed file yields what could be read plus warnings.
 */
import * as fs from 'node:fs';
import { SaxesParser } from 'saxes';
import { FailureType, LoopError } from '../errors';
import { clipText } from './redact';

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
export type TestResult = TestCaseRecord;

export interface JUnitReadResult {
  tests: TestResult[];
  warnings: string[];
}

/** `time="1,234.5"` (thousands separator) and `time="0,25"` (decimal comma) both occur. */
export function parseSeconds(value: string | undefined): number {
  if (!value) return 0;
  // parseFloat skips the same leading white space trim() removes, and stops before trailing text.
  const normal = !value.includes(',') ? value : commaSeconds(value.trim());
  const seconds = Number.parseFloat(normal);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
}

/**
 * `text` in memory of its own. saxes hands out slices of its 64 KB input chunks, and one kept slice
 * keeps its whole chunk alive: the kept ids and failure texts of a 10 MB report would keep all of it,
 * and every garbage collection would copy it again.
 */
function own(text: string): string {
  return (' ' + text).slice(1);
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
  /** Surefire: `<flakyFailure>` means a failed attempt before a pass. */
  flakyAttempt: FailureDetail | null;
  /** Surefire: `<rerunFailure>` means the reruns failed too. */
  rerunFailure: FailureDetail | null;
  skipped: boolean;
  body: string;
  output: string;
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
type CaseSink = (record: TestCaseRecord, classname: string, testName: string) => void;

function idOf(classname: string, testName: string): string {
  return classname ? `${classname}::${testName}` : testName;
}

/**
 * Streams one JUnit file and calls `onCase` for every `<testcase>`. Returns the file's warnings.
 * Throws LoopError(NoJUnitReport) only when the file cannot be read or is not a JUnit report at all.
 */
export function parseJUnitFile(file: string, onCase: (record: TestCaseRecord) => void): Promise<string[]> {
  return readJUnitFile(file, (record, classname, testName) => {
    record.id = idOf(classname, testName);
    onCase(record);
  });
}

async function readJUnitFile(file: string, onCase: CaseSink): Promise<string[]> {
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
    if (done !== null) onCase(finishCase(done), done.classname, done.testName);
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
      cutOff.record.failure = { ...state.openDetail.detail, body: own(clipText(cutOff.body.trim(), MAX_BODY_CHARS)) };
    }
    // A test cut off mid-way only counts if it had already failed: a half-written pass proves nothing.
    if (cutOff.record.failure !== null) onCase(finishCase(cutOff), cutOff.classname, cutOff.testName);
    warnings.push(`${file}: the report ends inside testcase ${idOf(cutOff.classname, cutOff.testName)}`);
  }
  if (xmlErrors > MAX_XML_WARNINGS) warnings.push(`${file}: ${xmlErrors - MAX_XML_WARNINGS} more XML errors`);
  if (firstXmlError !== null) {
    // A report that breaks off is a run that broke off: never let it read as a clean pass.
    onCase(
      {
        id: `${file}::(report cut off)`,
        outcome: 'errored',
        timeMs: 0,
        failure: { kind: 'error', type: 'IncompleteReport', message: `the JUnit report is incomplete: ${firstXmlError}`, body: '' },
        output: '',
        attachments: [],
        file,
      },
      file,
      '(report cut off)',
    );
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
        id: '',
        outcome: 'passed',
        timeMs: Math.round(parseSeconds(attrs.time) * 1000),
        failure: null,
        output: '',
        attachments: [],
        file,
      },
      classname,
      testName,
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

function openDetail(state: ReaderState, open: OpenCase, { kind, target }: DetailElement, attrs: Record<string, string>): void {
  state.openDetail = {
    target,
    detail: { kind, type: own(clipText(attrs.type ?? '', 200)), message: own(clipText(attrs.message ?? '', MAX_MESSAGE_CHARS)), body: '' },
  };
  open.body = '';
  state.capture = 'body';
  state.captureDepth = state.depth;
}

/** Returns the test case that `name` closes, if it closes one. */
function closeElement(state: ReaderState, name: string): OpenCase | null {
  const open = state.current;
  if (state.capture !== null && state.depth === state.captureDepth && open !== null) {
    if (state.openDetail !== null) {
      const { target, detail } = state.openDetail;
      detail.body = own(clipText(open.body.trim(), MAX_BODY_CHARS));
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
    record.output = own(clipText(open.output.trim(), MAX_OUTPUT_CHARS));
    if (open.output.includes('[[ATTACHMENT|')) {
      for (const match of open.output.matchAll(/\[\[ATTACHMENT\|([^\]]+)\]\]/g)) record.attachments.push(own(match[1]));
    }
  }
  return record;
}

type Repeat = { passes: number; fails: number; fixtureError: boolean };

/** The tests whose ids have one part before their first `::` (`null`: ids without `::`). */
interface Bucket {
  prefix: string | null;
  /** The bucket's first slot; most buckets of a report hold several tests, some only one. */
  first: number;
  /** Slots by the rest of the id, once the bucket has a second test. */
  byRest: Map<string, number> | null;
}

/**
 * Combines the records of one test id. Most tests pass once and carry nothing but an id, an outcome
 * and a time: those are kept in columns, not as objects, and a TestResult is only built for them on
 * request. Tests with a failure, output or attachments (few) keep their record.
 *
 * Ids are found by their two parts, split at the id's first `::`: `classname` and `name` in nearly
 * every case. The tests of one class come one after another, so the class part is compared with the
 * last one seen (no hashing) and only the name is hashed: half the characters of the whole id, and
 * no whole id is built for a test that passes.
 */
export class TestTable {
  private readonly buckets = new Map<string, Bucket>();
  private readonly unprefixed: Bucket = { prefix: null, first: -1, byRest: null };
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
  private settled = false;

  get size(): number {
    return this.rests.length;
  }

  id(slot: number): string {
    const prefix = this.prefixes[slot];
    return prefix === null ? this.rests[slot] : `${prefix}::${this.rests[slot]}`;
  }

  /** The test's id is `classname::testName`, or `testName` when classname is `''`; `record.id` is not read. */
  add(record: TestCaseRecord, classname: string, testName: string): void {
    const n = this.rests.length;
    const slot = this.slot(classname, testName);
    if (slot === n) {
      this.outcomes.push(record.outcome);
      this.times.push(record.timeMs);
      this.files.push(record.file);
      if (record.failure !== null || record.output !== '' || record.attachments.length > 0) {
        record.id = this.id(n);
        this.records.set(n, record);
      }
      return;
    }
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

  /** The slot of the test with this id; a new one (`size` before the call) if there is none yet. */
  private slot(classname: string, testName: string): number {
    let bucket: Bucket;
    let rest = testName;
    const last = this.last;
    if (last !== null && classname !== '' && classname === last.prefix) {
      bucket = last;
    } else if (classname !== '' && !classname.includes('::') && !classname.endsWith(':')) {
      // The id's first `::` is the one after the classname.
      bucket = this.bucket(classname);
    } else {
      const id = classname ? `${classname}::${testName}` : testName;
      const at = id.indexOf('::');
      bucket = at < 0 ? this.unprefixed : this.bucket(id.slice(0, at));
      rest = at < 0 ? id : id.slice(at + 2);
    }
    if (bucket.prefix !== null) this.last = bucket;
    const n = this.rests.length;
    if (bucket.first < 0) {
      bucket.first = n;
    } else {
      if (bucket.byRest === null) {
        if (this.rests[bucket.first] === rest) return bucket.first;
        bucket.byRest = new Map([[this.rests[bucket.first], bucket.first]]);
      }
      rest = own(rest);
      const found = bucket.byRest.get(rest);
      if (found !== undefined) return found;
      bucket.byRest.set(rest, n);
    }
    this.prefixes.push(bucket.prefix);
    this.rests.push(bucket.first === n ? own(rest) : rest);
    return n;
  }

  private bucket(prefix: string): Bucket {
    let bucket = this.buckets.get(prefix);
    if (bucket === undefined) {
      const key = own(prefix);
      bucket = { prefix: key, first: -1, byRest: null };
      this.buckets.set(key, bucket);
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
    return { id: this.id(i), outcome: this.outcomes[i], timeMs: this.times[i], failure: null, output: '', attachments: [], file: this.files[i] };
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
