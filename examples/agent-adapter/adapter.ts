/**
 * A hand-off command that puts a coding agent on the loop's fix team. Set it as `handoff.command`
 * (with `handoff.timeout` long enough for the agent) and it:
 *
 *   1. reads the hand-off document ($TDL_HANDOFF_FILE);
 *   2. prepares a git worktree of $TDL_AGENT_REPO at the commit that failed (the newest fix the loop
 *      tried, else $TDL_AGENT_BASE, default HEAD) on a branch of its own;
 *   3. runs the coding agent ($TDL_AGENT_CMD, under /bin/sh -c in the worktree) with the task on
 *      stdin and the document in $TDL_HANDOFF_FILE; the agent may write the fingerprints it
 *      addressed, one a line, to $TDL_AGENT_ADDRESSES (default: every root cause it was given);
 *   4. runs the check ($TDL_AGENT_CHECK, optional: the reproduce command as it runs locally);
 *   5. commits, and reports the commit with `tdl fix --addresses … --branch … --agent …`; when the
 *      agent fails, changes nothing or the check fails, it says so with `tdl cannot-fix`, and the
 *      loop asks a person.
 *
 * Escalations ($TDL_NEEDS_PERSON=1) and reminders ($TDL_REMINDER=1) are for people: it does nothing.
 * $TDL_BIN is how to run tdl (default `tdl`); $TDL_AGENT_NAME names the agent in the loop's report.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HandoffDocument } from '../../src/handoff/schema';

const env = process.env;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function tdl(...args: string[]): void {
  const [command, ...prefix] = (env.TDL_BIN ?? 'tdl').split(' ');
  const r = spawnSync(command, [...prefix, ...args], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`tdl ${args[0]} exited with ${r.status}`);
}

/** The agent's task: what a person would write in the ticket. */
export function taskText(doc: HandoffDocument): string {
  const lines = [
    `The staging end-to-end suite of ${doc.loop.name} fails (cycle ${doc.loop.cycle}, fix attempt ${doc.loop.attempt}). Fix the code.`,
    '',
    'Root causes (fingerprint, category, failures, message):',
    ...doc.rootCauses.map((r) => `- ${r.fingerprint} ${r.category} ×${r.count}${r.status ? ` [${r.status}]` : ''}: ${r.message}\n  hypothesis: ${r.hypothesis}`),
  ];
  if (doc.fixes.length) lines.push('', 'Tried before:', ...doc.fixes.map((f) => `- ${f.commit} for ${f.addresses.join(', ') || 'all'}: ${f.outcome ?? 'pending'}`));
  lines.push('', `Reproduce: ${doc.reproduce.suiteCommand ?? doc.reproduce.suiteUse}`, `Tests that must pass: ${doc.reproduce.mustPass.slice(0, 50).join(', ')}`);
  lines.push('', `The full hand-off document is in $TDL_HANDOFF_FILE. Write the fingerprints you addressed, one a line, to $TDL_AGENT_ADDRESSES.`);
  return lines.join('\n');
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ').slice(0, 400);
}

function main(): void {
  if (env.TDL_AUDIENCE !== 'fix-team' || env.TDL_NEEDS_PERSON || env.TDL_REMINDER) return;
  const doc = JSON.parse(readFileSync(env.TDL_HANDOFF_FILE!, 'utf8')) as HandoffDocument;
  const id = doc.loop.workflowId;
  const agent = env.TDL_AGENT_NAME ?? 'coding-agent';
  const repo = env.TDL_AGENT_REPO ?? process.cwd();
  const cannotFix = (reason: string) => tdl('cannot-fix', id, '--reason', reason, '--agent', agent);
  if (!doc.rootCauses.length) return;

  const base = doc.fixes[doc.fixes.length - 1]?.commit ?? env.TDL_AGENT_BASE ?? 'HEAD';
  const branch = `tdl/${doc.loop.name}-cycle-${doc.loop.cycle}-attempt-${doc.loop.attempt}`.replace(/[^\w./-]/g, '-');
  const scratch = mkdtempSync(join(tmpdir(), 'tdl-agent-'));
  const worktree = join(scratch, 'worktree');
  const addressesFile = join(scratch, 'addresses');
  // -f -B: a run killed by handoff.timeout may have left the branch checked out in its worktree.
  git(repo, 'worktree', 'add', '-q', '-f', '-B', branch, worktree, base);
  try {
    const run = spawnSync('/bin/sh', ['-c', env.TDL_AGENT_CMD ?? 'false'], {
      cwd: worktree,
      input: taskText(doc),
      encoding: 'utf8',
      env: { ...env, TDL_AGENT_ADDRESSES: addressesFile },
    });
    if (run.status !== 0) return cannotFix(`${agent} exited with ${run.status ?? run.signal}: ${tail(run.stdout + run.stderr)}`);
    if (env.TDL_AGENT_CHECK) {
      const check = spawnSync('/bin/sh', ['-c', env.TDL_AGENT_CHECK], { cwd: worktree, encoding: 'utf8' });
      if (check.status !== 0) return cannotFix(`${agent}'s change fails the check: ${tail(check.stdout + check.stderr)}`);
    }
    git(worktree, 'add', '-A');
    if (!git(worktree, 'status', '--porcelain')) return cannotFix(`${agent} changed nothing`);
    const summary = tail(run.stdout) || `${agent}: fix for cycle ${doc.loop.cycle}`;
    git(worktree, '-c', `user.name=${agent}`, '-c', 'user.email=agent@localhost', 'commit', '-q', '-m', summary);
    const commit = git(worktree, 'rev-parse', '--short=12', 'HEAD');
    const known = new Set(doc.rootCauses.map((r) => r.fingerprint));
    const said = existsSync(addressesFile) ? readFileSync(addressesFile, 'utf8').split('\n').map((l) => l.trim()).filter((f) => known.has(f)) : [];
    const addresses = said.length ? said : [...known];
    tdl('fix', id, '--commit', commit, '--addresses', addresses.join(','), '--branch', branch, '--agent', agent, '--summary', summary.slice(0, 2000));
  } finally {
    git(repo, 'worktree', 'remove', '--force', worktree);
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) main();
