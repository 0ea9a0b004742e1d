/** Where a loop's bulky files live: `<reportsDir>/<workflowId>/cycle-<N>/`. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Workflow ids are user-chosen: keep them to one safe path segment. */
function safeSegment(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
}

export function loopDir(reportsDir: string, workflowId: string): string {
  return join(reportsDir, safeSegment(workflowId));
}

export function cycleDir(reportsDir: string, workflowId: string, cycle: number): string {
  const dir = join(loopDir(reportsDir, workflowId), `cycle-${cycle}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes via a temporary file and a rename, so a reader never sees half a file. */
export function writeFileAtomic(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}
