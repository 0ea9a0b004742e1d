/**
 * Where a loop's files live: its reports (redacted) in `<reportsDir>/<folder>/cycle-<N>/`, and the
 * suite's raw output files (JUnit reports that may carry what the suite printed, the rerun list) in
 * a worker-private work folder, `<TDL_WORK_DIR>/<folder>/cycle-<N>/`, kept only until the next cycle.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { FailureType, LoopError } from '../errors';

/** Ids up to this long, of safe characters only, are their own folder name. */
const MAX_PLAIN = 100;
/** The readable part of a folder name for any other id. */
const MAX_PREFIX = 64;
const SAFE_ID = new RegExp(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,${MAX_PLAIN - 1}}$`);

/**
 * A workflow id as one folder name. Temporal ids are any string up to 1,000 characters: a safe,
 * short id is kept as it is (so existing reports stay where they are); any other becomes a safe
 * prefix plus `~` and a hash of the exact id. `~` never occurs in a kept id, so no two ids share a
 * folder, and no name reaches a parent folder.
 */
export function folderName(workflowId: string): string {
  if (SAFE_ID.test(workflowId)) return workflowId;
  const prefix = workflowId.slice(0, MAX_PREFIX).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\./, '_');
  return `${prefix}~${createHash('sha256').update(workflowId).digest('hex').slice(0, 16)}`;
}

export function loopDir(reportsDir: string, workflowId: string): string {
  return join(reportsDir, folderName(workflowId));
}

export function cycleDir(reportsDir: string, workflowId: string, cycle: number): string {
  const dir = join(loopDir(reportsDir, workflowId), `cycle-${cycle}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The worker setting `TDL_WORK_DIR`: raw suite files, private to the worker's user. Default: a
 * per-user folder in the system's temporary folder. Several workers on one task queue that may
 * retry each other's diagnoses should share it, as they share the reports folder.
 */
export function workDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.TDL_WORK_DIR || join(tmpdir(), `tdl-work-${userInfo().uid}`));
}

/** A loop's work folder for one cycle (created, mode 0700); earlier cycles' folders are removed. */
export function cycleWorkDir(workflowId: string, cycle: number): string {
  const base = workDir();
  mkdirSync(base, { recursive: true, mode: 0o700 });
  // In a shared temporary folder, another user could have made it first (or as a symlink).
  const owner = lstatSync(base);
  if (!owner.isDirectory() || owner.uid !== process.getuid!()) {
    throw new LoopError(FailureType.SuiteNotRunnable, `TDL_WORK_DIR: ${base} must be a folder of the worker's own user`);
  }
  const loop = join(base, folderName(workflowId));
  mkdirSync(loop, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(loop)) {
    if (name !== `cycle-${cycle}`) rmSync(join(loop, name), { recursive: true, force: true });
  }
  const dir = join(loop, `cycle-${cycle}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Removes a loop's work folder (the loop has ended). */
export function removeWorkDir(workflowId: string): void {
  rmSync(join(workDir(), folderName(workflowId)), { recursive: true, force: true });
}

/** Writes via a temporary file and a rename, so a reader never sees half a file. */
export function writeFileAtomic(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}
