/** `npm install` (prepare) runs this: the Temporal CLI is part of the project's set-up. */
import { ensureTemporalCli, ToolMissing } from './temporal-cli';

try {
  console.log(`Temporal CLI: ${ensureTemporalCli(console.log)}`);
} catch (err) {
  // Do not fail `npm install`: the worker against a remote Temporal needs no CLI. Say how to get it.
  if (!(err instanceof ToolMissing)) throw err;
  console.warn(err.message);
}
