/**
 * The demo's own entry point (`npm run demo`): `tdl dev` on the embedded default, with the demo
 * running while the worker serves. Takes `tdl dev`'s options (`--port`, `--ui-port`, ...).
 */
import { processIo } from '../../src/cli/io';
import { main } from '../../src/cli/main';
import { runDemo } from './run';

const args = process.argv.slice(2);
const uiPort = args.includes('--ui-port') ? args[args.indexOf('--ui-port') + 1] : '8233';
// With an address configured, `tdl dev` runs only a worker: the Web UI is wherever that server's is.
const webUi = process.env.TEMPORAL_ADDRESS ? null : `http://localhost:${uiPort}`;

main(['dev', ...args], processIo, { whileRunning: (io, settings, taskQueue, stop) => runDemo(io, settings, taskQueue, stop, { webUi }) }).then((code) => {
  process.exitCode = code;
});
