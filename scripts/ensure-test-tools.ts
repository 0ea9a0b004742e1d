/**
 * `npm test` runs this first: the Web UI test drives Debian's Chromium through playwright-core,
 * which brings no browser of its own. Installs it where we may (root with apt-get), else says how.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';

function main() {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    console.error(`The Web UI test needs Chromium at ${CHROMIUM}: install it with \`sudo apt-get install chromium\` (Debian/Ubuntu).`);
    process.exit(1);
  }
  console.log('installing Chromium for the Web UI test (apt-get install chromium)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
}

main();
