/** Finding a command's processes by the run id runCommand puts in their environment. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { RUN_ID_VAR } from '../../src/process';

/** Live (non-zombie) processes whose environment carries `TDL_RUN_ID=<id>`. */
export function processesOfRun(runId: string): number[] {
  const needle = `${RUN_ID_VAR}=${runId}`;
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const alive = !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
        return alive && readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The run id a command printed as the first line of its log (`echo "$TDL_RUN_ID"`). */
export function runIdIn(logPath: string): string {
  const id = readFileSync(logPath, 'utf8').split('\n')[0];
  assert.match(id, /^[0-9a-f-]{36}$/, 'the command printed its run id');
  return id;
}
