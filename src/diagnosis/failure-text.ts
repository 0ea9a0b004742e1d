/** Finding the line of a failure that says what went wrong, across runners' formats. */
import type { FailureDetail } from './junit';

/** Messages that name no problem ("Failed" from go-junit-report, `type="FAILURE"` from Playwright). */
export const GENERIC = /^(failed|failure|fail|error|errors?|exception|)$/i;
/** Runner chatter and stack frames: never the headline. */
export const NOT_A_HEADLINE = /^(=== (RUN|PAUSE|CONT|NAME)|--- (FAIL|PASS|SKIP)|at\s|\[[\w-]+\] › |File "|Traceback|def |>|\d+ \||_ _|-{3,}|={3,}|self = <)/;
const ERROR_LIKE = /error|exception|fail|timeout|timed out|refused|expected|assert|unable|cannot|could not|denied|invalid|rejected|exceeded|panic/i;

/** The line that says what went wrong: pytest's `E` line, else the message, else the body's first error line. */
export function headline(detail: FailureDetail): string {
  const pytestE = /^\s*E\s{2,}(\S.*)$/m.exec(`${detail.message}\n${detail.body}`);
  if (pytestE) return pytestE[1].trim();
  const message = firstLine(detail.message);
  // Playwright's message is the test's location and title, not the error.
  if (message && !GENERIC.test(message) && !/^\S+:\d+:\d+\s/.test(message)) return message;
  const lines = detail.body.split('\n', 40).map((l) => l.trim()).filter((l) => l && !NOT_A_HEADLINE.test(l));
  return lines.find((l) => ERROR_LIKE.test(l)) ?? lines[0] ?? message ?? detail.type;
}

function firstLine(text: string): string {
  for (const line of text.split('\n', 20)) if (line.trim() && !NOT_A_HEADLINE.test(line.trim())) return line.trim();
  return '';
}

