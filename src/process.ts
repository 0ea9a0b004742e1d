/**
 * Runs a shell command the way the loop needs it: under /bin/sh -c, in its own session and process
 * group, output redacted piece by piece into a capped file rather than memory, bounded in time, with
 * a tick for heartbeats. Whatever the command leaves running is found and stopped when it ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { clipText, redactor } from './diagnosis/redact';

export interface CommandRun {
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** stdout and stderr go here (appended). */
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

/** The environment variable that marks every process of one run, daemons included. */
export const RUN_ID_VAR = 'TDL_RUN_ID';
/** How long a process group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 3000;
/** After SIGKILL, how long to wait for the shell before giving up on it. */
const REAP_GRACE_MS = 2000;
/** After the shell exits, how long its pipes may stay open (a background process holding them). */
const PIPE_GRACE_MS = 1000;
/** Redaction runs on pieces of at most this many characters, so its cost per piece is bounded. */
const MAX_PIECE = 16 * 1024;
const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Bytes read from the end of a log for `logTail`. */
const TAIL_BYTES = 4096;

const SIZE = /^(\d+)\s*(?:([KMG])i?B?)?$/i;
const UNIT = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as const;

/**
 * The worker setting `TDL_MAX_OUTPUT_BYTES` (default 64 MiB): the most one command writes to its
 * log. Bytes, or with K, M or G (binary units). Throws with the setting's name when it is malformed.
 */
export function maxOutputBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TDL_MAX_OUTPUT_BYTES?.trim();
  if (!raw) return DEFAULT_MAX_OUTPUT;
  const m = SIZE.exec(raw);
  const bytes = m ? Number(m[1]) * (m[2] ? UNIT[m[2].toUpperCase() as keyof typeof UNIT] : 1) : NaN;
  if (!(bytes >= 1024 && Number.isSafeInteger(bytes))) {
    throw new Error(`TDL_MAX_OUTPUT_BYTES must be a size of at least 1024 bytes (e.g. 67108864 or 64M), got "${raw}"`);
  }
  return bytes;
}

function formatBytes(n: number): string {
  return n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1).replace(/\.0$/, '')} MiB` : `${n} bytes`;
}

/**
 * The command's log: redacted pieces written synchronously (nothing queues in memory), at most
 * `cap` bytes; past the cap, input is only counted, and one closing line says how much was dropped.
 */
class CappedLog {
  private readonly fd: number;
  private written = 0;
  private dropped = 0;
  private readonly redactText = redactor([]);

  constructor(
    path: string,
    private readonly cap: number,
  ) {
    this.fd = openSync(path, 'a');
  }

  get full(): boolean {
    return this.written >= this.cap;
  }

  drop(bytes: number): void {
    this.dropped += bytes;
  }

  write(text: string): void {
    if (this.full) return this.drop(Buffer.byteLength(text));
    let out = Buffer.from(this.redactText(text));
    const room = this.cap - this.written;
    if (out.length > room) {
      // Cut redacted text: a secret is already masked, so the cut cannot expose part of one.
      this.drop(out.length - room);
      out = out.subarray(0, room);
    }
    writeSync(this.fd, out);
    this.written += out.length;
  }

  close(): void {
    if (this.dropped > 0) {
      writeSync(this.fd, `\n[tdl] output beyond the ${formatBytes(this.cap)} cap (TDL_MAX_OUTPUT_BYTES): ${this.dropped} bytes dropped\n`);
    }
    closeSync(this.fd);
  }
}

/**
 * Copies a stream into the log in pieces: whole lines where it can, and a line that never ends in
 * pieces of MAX_PIECE cut between tokens (redaction cannot recognise half a secret), so memory and
 * the redaction's cost per piece stay bounded however the command writes.
 */
function copyInto(from: Readable, log: CappedLog, onData: () => void): { flush(): void } {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const emit = (final: boolean) => {
    while (pending) {
      let end = pending.lastIndexOf('\n', MAX_PIECE - 1) + 1;
      if (end === 0) {
        if (!final && pending.length <= MAX_PIECE) return;
        end = Math.min(pending.length, clipText(pending, MAX_PIECE).length || MAX_PIECE);
      }
      log.write(pending.slice(0, end));
      pending = pending.slice(end);
    }
  };
  from.on('data', (chunk: Buffer) => {
    onData();
    if (log.full) return log.drop(chunk.length);
    pending += decoder.write(chunk);
    emit(false);
  });
  return {
    flush: () => {
      pending += decoder.end();
      emit(true);
    },
  };
}

/** The last `lines` lines of a command's log, for error messages; reads only the last few KB. */
export function logTail(path: string, lines: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    let text = buf.toString('utf8').trimEnd();
    // Started mid-file: the first line is partial (and may start mid-character).
    if (length < size && text.includes('\n')) text = text.slice(text.indexOf('\n') + 1);
    return text.split('\n').slice(-lines).join('\n');
  } finally {
    closeSync(fd);
  }
}

/** Pids of processes whose environment carries `marker` (only the worker user's are readable). */
function markedProcesses(marker: string): number[] {
  const needle = Buffer.from(`\0${marker}\0`);
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${name}/environ`)]);
      if (environ.includes(needle)) pids.push(Number(name));
    } catch {
      // Gone, or another user's.
    }
  }
  return pids;
}

function signalAll(pgid: number | undefined, marker: string, sig: NodeJS.Signals): number {
  const targets = markedProcesses(marker);
  for (const target of pgid ? [-pgid, ...targets] : targets) {
    try {
      process.kill(target, sig);
    } catch {
      // Already gone.
    }
  }
  return targets.length;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops everything the run started: its process group, and any process carrying its marker (a
 * daemon that left the group with setsid still inherited the environment). TERM first, then KILL.
 */
async function stopEverything(pgid: number | undefined, marker: string): Promise<void> {
  signalAll(pgid, marker, 'SIGTERM');
  for (let waited = 0; waited < KILL_GRACE_MS && markedProcesses(marker).length > 0; waited += 100) await delay(100);
  // A process may fork while being killed: sweep until none is left (bounded).
  for (let i = 0; i < 5 && signalAll(pgid, marker, 'SIGKILL') > 0; i++) await delay(50);
}

export function runCommand(run: CommandRun): Promise<CommandResult> {
  const started = Date.now();
  const runId = randomUUID();
  const marker = `${RUN_ID_VAR}=${runId}`;
  const log = new CappedLog(run.outputPath, maxOutputBytes());
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', run.command], {
        cwd: run.cwd,
        env: { ...run.env, [RUN_ID_VAR]: runId },
        // A new session and process group, led by the shell.
        detached: true,
        stdio: [run.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
    } catch (err) {
      // E2BIG (an environment too large to exec) is thrown, not emitted.
      log.close();
      throw err;
    }
    let timedOut = false;
    let cancelled = false;
    let exited: { code: number | null; sig: NodeJS.Signals | null } | null = null;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const later = (ms: number, fn: () => void) => timers.push(setTimeout(fn, ms));

    // Heartbeats from a timer, and from the output when the timer is late: a flood cannot starve them.
    let lastTick = Date.now();
    const tickMs = run.tickMs ?? 5000;
    const tick = () => {
      lastTick = Date.now();
      run.onTick?.();
    };
    const ticker = setInterval(tick, tickMs);
    const overdue = () => {
      if (Date.now() - lastTick > tickMs) tick();
    };
    const copies = [child.stdout!, child.stderr!].map((s) => copyInto(s, log, overdue));

    const finish = async (err?: Error) => {
      if (settled) return;
      settled = true;
      clearInterval(ticker);
      timers.forEach(clearTimeout);
      run.signal.removeEventListener('abort', onAbort);
      // Whatever the shell left behind goes too, so nothing holds the pipes or outlives the run.
      await stopEverything(child.pid, marker);
      for (const s of [child.stdout!, child.stderr!]) s.destroy();
      copies.forEach((c) => c.flush());
      log.close();
      if (err) return reject(err);
      resolve({ exitCode: exited?.code ?? null, killedBy: exited?.sig ?? null, timedOut, cancelled, durationMs: Date.now() - started });
    };
    const stop = () => {
      signalAll(child.pid, marker, 'SIGTERM');
      later(KILL_GRACE_MS, () => {
        signalAll(child.pid, marker, 'SIGKILL');
        // A shell that still has not exited (stuck in the kernel) is not waited for.
        later(REAP_GRACE_MS, () => void finish());
      });
    };
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    run.signal.addEventListener('abort', onAbort, { once: true });
    if (run.signal.aborted) onAbort();
    // Node fires a longer timer at once (with a warning): cap it at Node's limit (24.8 days).
    later(Math.min(run.timeoutMs, MAX_TIMER_MS), () => {
      timedOut = true;
      stop();
    });
    if (run.stdin !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // a command that ignores its input closes the pipe early
      child.stdin.end(run.stdin);
    }
    child.on('error', (err) => void finish(err));
    child.on('exit', (code, sig) => {
      exited = { code, sig };
      // A background process may hold the pipes open for ever: wait for them only briefly.
      later(PIPE_GRACE_MS, () => void finish());
    });
    // Output and exit both done: the usual, quick end.
    child.on('close', () => void finish());
  });
}
