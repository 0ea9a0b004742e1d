/** What a command writes to, and how it ends: commands run in-process in tests with another Io. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  isTTY: Boolean(process.stdout.isTTY),
};

/** An error that ends a command with its exit code: 1 the operation failed or was refused, 2 bad usage or input. */
export class ExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad usage or bad input: exit code 2. */
export class UsageError extends ExitError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** The operation failed (Temporal unreachable, no such loop): exit code 1. */
export class OperationFailed extends ExitError {
  constructor(message: string) {
    super(message, 1);
  }
}

/**
 * Every command's connection failure, in one wording. The worker's native connection reports a
 * Rust error chain (`tonic::transport::Error(... message: "Connection refused" ...)`): its innermost
 * message is the part a person can act on.
 */
export function cannotReach(address: string, err: unknown): OperationFailed {
  const raw = err instanceof Error ? err.message : String(err);
  const inner = [...raw.matchAll(/message: "([^"]+)"/g)].pop()?.[1] ?? raw.split('\n')[0];
  return new OperationFailed(`cannot reach Temporal at ${address}: ${inner}. Run \`tdl dev\` or set TEMPORAL_ADDRESS.`);
}
