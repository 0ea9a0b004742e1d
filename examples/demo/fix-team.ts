/**
 * The demo's fix team, run by the loop's handoff command: reads the report, applies the fix the
 * diagnosis points at (send the `jwt-auth` subprotocol), "commits" it, and tells the loop with
 * `tdl fix`, as a CI job would.
 *
 * Environment (from the loop): TDL_WORKFLOW_ID, TDL_AUDIENCE, TDL_REPORT_PATH; CLIENT_CONFIG.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const TDL = resolve(__dirname, '..', '..', '..', 'bin', 'tdl.js');

function main() {
  if (process.env.TDL_AUDIENCE !== 'fix-team') return; // the infrastructure team is someone else
  const report = readFileSync(process.env.TDL_REPORT_PATH!, 'utf8');
  if (!/jwt-auth/.test(report)) {
    console.log('fix team: the report does not point at the subprotocol; leaving it to a person');
    return;
  }
  const path = process.env.CLIENT_CONFIG!;
  const config = JSON.parse(readFileSync(path, 'utf8')) as { subprotocols: string[] };
  if (config.subprotocols.includes('jwt-auth')) return; // already fixed; a reminder
  config.subprotocols.push('jwt-auth');
  const content = JSON.stringify(config, null, 2);
  writeFileSync(path, content);
  const commit = createHash('sha1').update(content).digest('hex').slice(0, 9);
  execFileSync(process.execPath, [TDL, 'fix', process.env.TDL_WORKFLOW_ID!, '--commit', commit, '--summary', 'add jwt-auth WebSocket subprotocol', '--author', 'demo fix team'], {
    stdio: 'inherit',
  });
}

main();
