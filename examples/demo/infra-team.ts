/**
 * The demo's infrastructure team, run by the loop's handoff command: when the loop is blocked on
 * infrastructure and its message names the database error from the service's logs, it repairs the
 * staging database a few seconds later (as a person would: read, fix, check) and tells the loop
 * with `tdl infra-restored`.
 *
 * Environment (from the loop): TDL_WORKFLOW_ID, TDL_AUDIENCE, TDL_MESSAGE; STAGING_URL,
 * DEMO_ADMIN_KEY and DEMO_REPAIR_AFTER_MS (from the demo's worker).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const TDL = resolve(__dirname, '..', '..', '..', 'bin', 'tdl.js');

async function main() {
  if (process.env.TDL_AUDIENCE !== 'infra-team') return; // the fix team is someone else
  const message = process.env.TDL_MESSAGE ?? '';
  if (!/Failed to create tables/.test(message)) {
    console.log('infra team: the message does not name the database; leaving it to a person');
    return;
  }
  await new Promise((r) => setTimeout(r, Number(process.env.DEMO_REPAIR_AFTER_MS ?? 3000)));
  const res = await fetch(`${process.env.STAGING_URL}/admin/database/repair`, {
    method: 'POST',
    headers: { 'x-admin-key': process.env.DEMO_ADMIN_KEY ?? '' },
  });
  if (!res.ok) throw new Error(`infra team: the repair was refused: HTTP ${res.status}`);
  execFileSync(process.execPath, [TDL, 'infra-restored', process.env.TDL_WORKFLOW_ID!, '--note', 'demo infra team: database tables recreated'], {
    stdio: 'inherit',
  });
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exitCode = 1;
});
