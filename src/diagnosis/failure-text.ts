/** Finding the line of a failure that says what went wrong, across runners' formats. */
import type { FailureDetail } from './junit';

/**
 * Messages that name no problem: "Failed", "Build error" and "Runtime error" from go-junit-report,
 * `type="FAILURE"` from Playwright. The body says what happened.
 */
export const GENERIC = /^(failed|failure|fail|error|errors?|exception|build error|runtime error|)$/i;
/** Runner chatter, stack frames and bare source locations (ginkgo): never the headline. */
export const NOT_A_HEADLINE =
  /^(=== (RUN|PAUSE|CONT|NAME)|--- (FAIL|PASS|SKIP)|at\s|\[[^\]]+\] › |File "|Traceback|def |>|\d+ \||_ _|-{3,}|={3,}|self = <|goroutine \d+ \[|exit status \d+$|FAIL\t|\S+:\d+$)/;
/** NUnit names the fixture phase before the exception: the same exception in any phase is one problem. */
const NUNIT_PHASE = /^(OneTimeSetUp|OneTimeTearDown|SetUp|TearDown)\s*:\s*/;

/** Playwright's `message` attribute: the test's location and title (`login.spec.ts:12:5 › logs in`), not its error. */
export function isTitleMessage(message: string): boolean {
  return /^\S+:\d+:\d+\s/.test(message);
}
const ERROR_LIKE = /error|exception|fail|timeout|timed out|refused|expected|assert|unable|cannot|could not|denied|invalid|rejected|exceeded|panic/i;

/** The line that says what went wrong: pytest's `E` line, else the message, else the body's first error line. */
export function headline(detail: FailureDetail): string {
  const pytestE = /^\s*E\s{2,}(\S.*)$/m.exec(`${detail.message}\n${detail.body}`);
  if (pytestE) return pytestE[1].trim();
  const message = firstLines(detail.message).replace(NUNIT_PHASE, '');
  if (message && !GENERIC.test(message) && !isTitleMessage(message)) return message;
  const lines = detail.body.split('\n', 40).map((l) => l.trim()).filter((l) => l && !NOT_A_HEADLINE.test(l));
  return lines.find((l) => ERROR_LIKE.test(l)) ?? lines[0] ?? message ?? detail.type;
}

/**
 * The first informative line; with the next one when it is a bare start (NUnit's `Expected: 8` /
 * `But was: 2`, REST Assured's `1 expectation failed.` / `Expected status code <200> but was <401>.`).
 */
function firstLines(text: string): string {
  const lines = text
    .split('\n', 20)
    .map((l) => l.trim())
    .filter((l) => l && !NOT_A_HEADLINE.test(l));
  if (lines.length > 1 && lines[0].split(' ').length < 4) return `${lines[0]} ${lines[1]}`;
  return lines[0] ?? '';
}

