/** `tdl report ID --cycle N`: a cycle's full report, fetched from wherever its worker published it. */
import type { Client } from '@temporalio/client';
import { ArtifactError, artifactLink, fetchArtifact, type ArtifactSettings } from '../artifacts';
import type { LoopStatus } from '../workflows/state';
import { OperationFailed, type Io } from './io';
import { queryStatus } from './loops';

/**
 * Where cycle `n`'s report is. The status keeps the URL of its recent cycles; an older one (only
 * counted there) is in the same place as the others, in its own `cycle-N` folder. Null when the
 * loop never had that cycle or has no report yet.
 */
export function cycleReportUrl(status: Pick<LoopStatus, 'cycle' | 'cycles'>, n: number): string | null {
  if (n < 1 || n > status.cycle) return null;
  const kept = status.cycles.find((c) => c.cycle === n);
  if (kept) return kept.reportPath;
  const sample = [...status.cycles].reverse().find((c) => c.reportPath && /\/cycle-\d+\/report\.md$/.test(c.reportPath));
  return sample ? sample.reportPath!.replace(/\/cycle-\d+\/report\.md$/, `/cycle-${n}/report.md`) : null;
}

export async function showCycleReport(client: Client, io: Io, id: string, n: number, settings?: ArtifactSettings): Promise<number> {
  const status = await queryStatus(client, id);
  const url = cycleReportUrl(status, n);
  if (!url) {
    throw new OperationFailed(
      n > status.cycle ? `loop ${id} has had ${status.cycle} cycle(s), not ${n}` : `cycle ${n} of loop ${id} has no report yet (phase ${status.phase})`,
    );
  }
  try {
    io.out((await fetchArtifact(url, settings)).toString('utf8'));
  } catch (err) {
    if (err instanceof ArtifactError) throw new OperationFailed(`the report of cycle ${n}: ${err.message}`);
    throw err;
  }
  const link = artifactLink(url);
  io.err(`cycle ${n}: ${url}${link && link !== url ? ` (${link})` : ''}`);
  return 0;
}
