/**
 * A deterministic stand-in for a coding agent (no model calls), for tests and trying the adapter:
 * it reads the task the adapter gives it and edits the scripted application (app.json, see
 * scripted-suite.ts) in the current directory. SCRIPTED_AGENT picks its character:
 *
 *   fix-one  fixes the first root cause of the hand-off, and says so ($TDL_AGENT_ADDRESSES)
 *   give-up  exits 3: the adapter answers cannotFix
 *   worse    claims the first root cause, leaves it, and breaks checkout: a regression
 *   hang     never returns: handoff.timeout stops it, the loop retries, then escalates
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { HandoffDocument } from '../../src/handoff/schema';
import { FEATURES, type App } from './scripted-suite';

function main(): void {
  const mode = process.env.SCRIPTED_AGENT ?? 'fix-one';
  const doc = JSON.parse(readFileSync(process.env.TDL_HANDOFF_FILE!, 'utf8')) as HandoffDocument;
  const app = JSON.parse(readFileSync('app.json', 'utf8')) as App;
  const first = doc.rootCauses[0];
  const feature = FEATURES.find((f) => first.message.includes(f.marker));
  switch (mode) {
    case 'give-up':
      console.log(`cannot fix ${first.fingerprint}: no idea what "${first.message.slice(0, 60)}" means`);
      process.exit(3);
      break;
    case 'hang':
      setInterval(() => undefined, 1000);
      return;
    case 'worse':
      app.checkout = false;
      break;
    default:
      if (!feature) {
        console.log(`nothing I know in: ${first.message}`);
        process.exit(3);
      }
      app[feature.name] = true;
  }
  writeFileSync('app.json', JSON.stringify(app, null, 2) + '\n');
  writeFileSync(process.env.TDL_AGENT_ADDRESSES!, `${first.fingerprint}\n`);
  console.log(mode === 'worse' ? `refactor checkout (for ${first.category})` : `fix ${feature!.name}`);
}

main();
