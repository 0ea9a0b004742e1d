/**
 * The demo's own entry point (`npm run demo`): `tdl dev` on the embedded default, with the demo
 * running while the worker serves. Takes `tdl dev`'s options (`--port`, `--ui-port`, ...).
 */
import { processIo } from '../../src/cli/io';
import { main } from '../../src/cli/main';
import { runDemo } from './run';

main(['dev', ...process.argv.slice(2)], processIo, { whileRunning: runDemo }).then((code) => {
  process.exitCode = code;
});
