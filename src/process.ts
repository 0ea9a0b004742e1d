/**
 * Runs a shell command the way the loop needs it: under /bin/sh -c, in its own process group (so
 * cancellation kills the whole tree, not just the shell), output redacted line by line into a file
 * rather than memory, bounded in time, with a tick for heartbeats.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { redactor } from './diagnosis/redact';

export interface CommandRun {
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** stdout and stderr go here. */
  outputPath: string;
  signal: AbortSignal;
  /** Called every `tickMs` while the command runs. */
  onTick?: () => void;
  tickMs?: number;
  /** Written to the command's stdin, then closed. */
  stdin?: string;
}

export interface CommandResult {
  exitCode: number | null;
  /** The signal that ended it, if one did. */
  killedBy: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
}

/** How long a process group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 3000;
/** A line longer than this is written out in pieces rather than held whole. */
const MAX_LINE = 64 * 1024;

/** Copies a stream into the log a whole line at a time, so a secret is never split across writes unredacted. */
function copyRedacted(from: Readable, to: WriteStream, redactText: (text: string) => string): void {
  let pending = '';
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    pending += chunk;
    const end = pending.length > MAX_LINE ? pending.length : pending.lastIndexOf('\n') + 1;
    if (end > 0) {
      to.write(redactText(pending.slice(0, end)));
      pending = pending.slice(end);
    }
  });
  from.on('end', () => {
    if (pending) to.write(redactText(pending));
  });
}

/** The last `lines` lines of a command's log, for error messages (already redacted as it was written). */
export function logTail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export function runCommand(run: CommandRun): Promise<CommandResult> {
  const started = Date.now();
  const out = createWriteStream(run.outputPath, { flags: 'a' });
  const redactText = redactor([]);
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', run.command], {
      cwd: run.cwd,
      env: run.env,
      detached: true,
      stdio: [run.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    copyRedacted(child.stdout!, out, redactText);
    copyRedacted(child.stderr!, out, redactText);
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // The group is already gone.
      }
    };
    const stop = () => {
      killGroup('SIGTERM');
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    run.signal.addEventListener('abort', onAbort, { once: true });
    if (run.signal.aborted) onAbort();
    const deadline = setTimeout(() => {
      timedOut = true;
      stop();
    }, run.timeoutMs);
    const ticker = run.onTick ? setInterval(run.onTick, run.tickMs ?? 5000) : undefined;
    if (run.stdin !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // a command that ignores its input closes the pipe early
      child.stdin.end(run.stdin);
    }
    const finish = () => {
      clearTimeout(deadline);
      clearTimeout(killTimer);
      if (ticker) clearInterval(ticker);
      run.signal.removeEventListener('abort', onAbort);
      // Resolve only once the log is on disk: callers read its tail.
      return new Promise<void>((flushed) => out.end(flushed));
    };
    child.on('error', (err) => {
      void finish().then(() => reject(err));
    });
    child.on('close', (code, sig) => {
      // Anything the shell left behind in its group goes too.
      if (sig || timedOut || cancelled) killGroup('SIGKILL');
      void finish().then(() => resolve({ exitCode: code, killedBy: sig, timedOut, cancelled, durationMs: Date.now() - started }));
    });
  });
}
