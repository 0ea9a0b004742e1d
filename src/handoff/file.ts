/**
 * The hand-off file: the workflow's bounded document completed from the cycle's diagnosis.json
 * (every failing test id, evidence, variants, the probes), redacted, written next to the cycle's report.
 */
import { join } from 'node:path';
import { redactDeep } from '../diagnosis/redact';
import type { Diagnosis, ProbeEvidence } from '../diagnosis/types';
import { writeFileAtomic } from '../activities/paths';
import type { HandoffDocument } from './schema';
import { fingerprintOf } from './fingerprint';

/** Evidence lines per root cause in the file. */
const EVIDENCE_LINES = 12;

/** `diagnosisJson`: the cycle's diagnosis.json (from wherever it was published), or null when out of reach. */
export function completeHandoff(doc: HandoffDocument, diagnosisJson: string | null): HandoffDocument {
  if (!diagnosisJson) return doc;
  const diagnosis = JSON.parse(diagnosisJson) as Diagnosis & { probes?: ProbeEvidence };
  const clusters = new Map(diagnosis.clusters.map((c) => [fingerprintOf(c.category, c.signature), c]));
  const rootCauses = doc.rootCauses.map((r) => {
    const c = clusters.get(r.fingerprint);
    return c ? { ...r, tests: c.tests, evidence: c.evidence.slice(0, EVIDENCE_LINES), variants: c.variants } : r;
  });
  return {
    ...doc,
    rootCauses,
    reproduce: { ...doc.reproduce, mustPass: rootCauses.flatMap((r) => r.tests) },
    ...(diagnosis.probes && { probes: diagnosis.probes }),
  };
}

/** Test ids per root cause in the webhook's copy: a chat message stays small; the file has them all. */
export const WEBHOOK_TESTS = 50;

/** The document as the webhook gets it: each root cause's first test ids, and the file's path for the rest. */
export function forWebhook(doc: HandoffDocument): HandoffDocument {
  const rootCauses = doc.rootCauses.map((r) => ({ ...r, tests: r.tests.slice(0, WEBHOOK_TESTS) }));
  return { ...doc, rootCauses, reproduce: { ...doc.reproduce, mustPass: rootCauses.flatMap((r) => r.tests) } };
}

/** Writes the completed, redacted document into the cycle's folder on this worker; returns it and its path. */
export function writeHandoffFile(
  doc: HandoffDocument,
  dir: string,
  secrets: readonly string[],
  diagnosisJson: string | null,
): { document: HandoffDocument; path: string } {
  const path = join(dir, 'handoff.json');
  const document = redactDeep({ ...completeHandoff(doc, diagnosisJson), links: { ...doc.links, handoffFile: path } }, secrets);
  writeFileAtomic(path, JSON.stringify(document, null, 2) + '\n');
  return { document, path };
}
