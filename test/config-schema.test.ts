/**
 * The loop input's JSON Schema (`tdl schema`): a real draft 2020-12 validator accepts the README's
 * example and the examples/ inputs, refuses what the loop refuses, and the README's configuration
 * table is the one generated from the schema. `tdl start` names bad input before it connects.
 * (A duration string's bounds are in its description: a JSON Schema pattern can check only its form.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { main } from '../src/cli/main';
import { parseLoopConfig } from '../src/config';
import { loadCommandPolicy } from '../src/policy';
import { withTable } from '../scripts/config-table';
import { freePort, TDL } from './support/temporal';

const ROOT = resolve(__dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

async function tdlSchema(): Promise<Record<string, unknown>> {
  let out = '';
  const code = await main(['schema'], { out: (t) => (out += t), err: () => {}, isTTY: false });
  assert.equal(code, 0);
  return JSON.parse(out);
}

/** The README's example loop input: the first JSON block of its configuration section. */
function readmeExample(): unknown {
  const section = readme.slice(readme.indexOf('## Configuration'));
  return JSON.parse(section.slice(section.indexOf('```json') + 7, section.indexOf('```', section.indexOf('```json') + 7)));
}

const loopExamples = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.startsWith('loop') && f.endsWith('.json'))
  .map((f): [string, unknown] => [`examples/${f}`, JSON.parse(readFileSync(join(ROOT, 'examples', f), 'utf8'))]);

describe('the loop input JSON Schema (tdl schema)', function () {
  let validate: ReturnType<Ajv2020['compile']>;

  before(async function () {
    const schema = await tdlSchema();
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    validate = ajv.compile(schema);
  });

  const good: [string, unknown][] = [['the README example', readmeExample()], ...loopExamples, ['the smallest input', { suite: { command: 'pytest' } }]];
  for (const [what, input] of good) {
    it(`accepts ${what}, as the loop does`, function () {
      assert.ok(validate(input), JSON.stringify(validate.errors));
      parseLoopConfig(input);
    });
  }

  const bad: [string, unknown][] = [
    ['a timeout of 1e21 ms', { suite: { command: 'x', timeout: 1e21 } }],
    ['a reminder every millisecond, as a number', { suite: { command: 'x' }, handoff: { remindEvery: 1 } }],
    ['a duration that is not one', { suite: { command: 'x', timeout: 'soon' } }],
    ['a misspelt field', { suite: { command: 'x' }, maxCycle: 3 }],
    ['an unknown deploy kind', { suite: { command: 'x' }, deploy: { kind: 'heroku' } }],
    ['both suite.command and suite.use', { suite: { command: 'x', use: 'e2e' } }],
    ['a websocket probe without a URL', { suite: { command: 'x' }, probes: { websocket: {} } }],
  ];
  for (const [what, input] of bad) {
    it(`refuses ${what}, as the loop does`, function () {
      assert.equal(validate(input), false);
      assert.throws(() => parseLoopConfig(input));
    });
  }

  it('has descriptions and defaults', async function () {
    const suite = ((await tdlSchema()).properties as Record<string, { properties: Record<string, { description?: string; default?: unknown }> }>).suite;
    assert.equal(suite.properties.timeout.default, '30m');
    assert.match(suite.properties.timeout.description!, /from 1s to 2147483647ms/);
  });

  it('is what the README configuration table shows, field by field', function () {
    assert.equal(readme, withTable(readme), 'README.md is out of date: run `node dist/scripts/config-table.js --write`');
  });

  it('and examples/commands.json is a valid command policy', function () {
    assert.deepEqual(Object.keys(loadCommandPolicy(join(ROOT, 'examples', 'commands.json')).suites), ['staging-e2e']);
  });
});

describe('tdl start with bad input and no Temporal server', function () {
  it('names the bad field (exit 2) instead of failing to connect', async function () {
    const address = `127.0.0.1:${await freePort()}`;
    const run = (input: string) =>
      new Promise<{ code: number; stderr: string }>((done) =>
        execFile(process.execPath, [TDL, 'start', '--input', input], { env: { ...process.env, TEMPORAL_ADDRESS: address } }, (err, _out, stderr) =>
          done({ code: err ? Number((err as { code?: number }).code) : 0, stderr }),
        ),
      );
    const missing = await run('{"suite":{}}');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--input: suite\.command: is required/);
    assert.doesNotMatch(missing.stderr, /cannot reach Temporal/);
    const huge = await run('{"suite":{"command":"x","timeout":1e21}}');
    assert.equal(huge.code, 2);
    assert.match(huge.stderr, /--input: suite\.timeout: must be a duration from 1s to/);
  });
});
