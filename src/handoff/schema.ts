/**
 * The hand-off document's schema, declared once in zod: the TypeScript type and the published JSON
 * Schema (`tdl handoff --schema`) both come from here. Apart from ./document, which the workflow
 * bundles, so that loops do not build these schemas.
 */
import { z } from 'zod';
import { FINGERPRINT_PATTERN, HANDOFF_SCHEMA_VERSION } from './types';

const fingerprint = z.string().regex(FINGERPRINT_PATTERN).describe('stable across cycles and loops: sha256 of the category and the normalised signature');
const nullableText = z.string().nullable();
const category = z.enum(['auth', 'websocket-handshake', 'service-unavailable', 'database', 'timeout', 'assertion', 'test-setup', 'unknown']);

const diffEntry = z.object({
  fingerprint,
  category,
  count: z.int().describe('failures in this cycle (0 when fixed)'),
  before: z.int().describe('failures in the cycle before'),
  fix: nullableText.describe('the commit deployed between the two cycles'),
  claimed: z.boolean().describe('that fix said it addresses this root cause'),
});

export const cycleDiffSchema = z.object({
  since: z.int().nullable().describe('the cycle compared with'),
  fixed: z.array(diffEntry),
  stillFailing: z.array(diffEntry),
  new: z.array(diffEntry),
  regressed: z.array(diffEntry).describe('failing now, not in the cycle before: after a deploy (the fix made things worse) or back after being fixed'),
});

const escalation = z.object({
  kind: z.enum(['cannot-fix', 'max-attempts', 'handoff-failed', 'agent-timeout']),
  at: z.string(),
  reason: z.string(),
  fingerprints: z.array(fingerprint),
  by: nullableText,
});

export const handoffDocumentSchema = z
  .object({
    schemaVersion: z.literal(HANDOFF_SCHEMA_VERSION),
    loop: z.object({
      workflowId: z.string(),
      name: z.string(),
      cycle: z.int(),
      maxCycles: z.int(),
      cyclesLeft: z.int().describe('suite runs left before the loop gives up'),
      attempt: z.int().describe('the number of the fix asked for: fixes received in this loop + 1'),
      maxAttemptsPerCause: z.int().describe('verified fixes claiming a root cause that still fails before it goes to people'),
      phase: z.string(),
      waitingFor: z.enum(['fix', 'infra', 'people']).nullable(),
    }),
    rootCauses: z.array(
      z.object({
        fingerprint,
        category,
        count: z.int(),
        message: z.string().describe('normalised, redacted'),
        hypothesis: z.string(),
        status: z.enum(['new', 'still-failing', 'regressed']).nullable().describe('against the cycle before'),
        attempts: z.int().describe('verified fixes that claimed it while it kept failing'),
        tests: z.array(z.string()).describe('test ids (classname::name): a sample in the query, every kept id in the file'),
        evidence: z.array(z.string()).optional().describe('redacted lines that decided the category (file only)'),
        variants: z.array(z.object({ message: z.string(), count: z.int() })).optional().describe('file only'),
      }),
    ),
    diff: cycleDiffSchema.nullable(),
    reproduce: z.object({
      suiteCommand: nullableText.describe("the suite, under /bin/sh -c with $JUNIT_XML; null when the worker's policy names it"),
      suiteUse: nullableText.describe("the worker's named suite, when the loop uses one"),
      cwd: z.string(),
      rerunCommand: nullableText.describe('reruns only the tests in $FAILED_TESTS (one id a line) / $FAILED_TESTS_FILE'),
      mustPass: z.array(z.string()).describe('the failing test ids that must pass (a sample in the query, all kept ids in the file)'),
    }),
    fixes: z
      .array(
        z.object({
          cycle: z.int(),
          commit: z.string(),
          summary: nullableText,
          author: nullableText,
          agent: nullableText.describe('the coding agent; null: a person'),
          prUrl: nullableText,
          branch: nullableText,
          addresses: z.array(fingerprint),
          outcome: nullableText,
        }),
      )
      .describe('what was tried before in this loop, oldest first (the cycles the status keeps)'),
    staging: z.object({
      revision: nullableText,
      healthy: z.boolean().nullable().describe('at the last verification'),
      url: nullableText.describe('verify.url'),
      pendingFix: nullableText.describe('a fix received and not yet verified'),
    }),
    escalation: escalation.nullable().describe('set while the loop waits for a person'),
    links: z.object({
      report: nullableText.describe("the cycle's diagnosis report (Markdown) on the workers' reports volume"),
      diagnosis: nullableText.describe('its diagnosis.json'),
      suiteOutput: nullableText,
      handoffFile: nullableText.describe('this document in full (file only)'),
    }),
    respond: z.object({
      fix: z.string().describe('report a fix'),
      cannotFix: z.string().describe('say it cannot be fixed: the loop asks people'),
    }),
    probes: z.unknown().optional().describe("live probes' evidence (file only)"),
  })
  .meta({ title: 'test-deploy-loop hand-off document', description: 'What a fix team needs to fix one cycle of a test-deploy-loop.' });

export type HandoffDocument = z.infer<typeof handoffDocumentSchema>;

/** The published JSON Schema (draft 2020-12): `tdl handoff --schema`. */
export function handoffJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(handoffDocumentSchema, { target: 'draft-2020-12' }) as Record<string, unknown>;
}
