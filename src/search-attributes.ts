/**
 * The loop's search attributes: what the Web UI's workflow list and `tdl list --phase` filter on.
 * Declared once here; the workflow upserts them, `tdl dev` and `tdl setup` register them. Pure (no
 * node: imports): the workflow bundle imports it.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { WORKFLOW_TYPE } from './workflows/messages';
import type { Phase } from './workflows/state';

export const LoopPhase = defineSearchAttributeKey('LoopPhase', SearchAttributeType.KEYWORD);
export const LoopCycle = defineSearchAttributeKey('LoopCycle', SearchAttributeType.INT);
export const LoopName = defineSearchAttributeKey('LoopName', SearchAttributeType.KEYWORD);
export const WaitingFor = defineSearchAttributeKey('WaitingFor', SearchAttributeType.KEYWORD);

/** The values LoopPhase takes (a record, so the compiler checks that every phase is here). */
const PHASE_VALUES: Record<Phase, true> = {
  testing: true,
  diagnosing: true,
  'awaiting-fix': true,
  deploying: true,
  verifying: true,
  'blocked-infra': true,
  passed: true,
  'gave-up': true,
  cancelled: true,
};
export const PHASES = Object.keys(PHASE_VALUES) as Phase[];

export const LOOP_SEARCH_ATTRIBUTES = [LoopPhase, LoopCycle, LoopName, WaitingFor];

/** `temporal server start-dev` flags that register them (`--search-attribute LoopPhase=Keyword`, ...). */
export function devServerSearchAttributeArgs(): string[] {
  const cliType = { KEYWORD: 'Keyword', INT: 'Int' } as const;
  return LOOP_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${cliType[k.type as keyof typeof cliType]}`]);
}

/**
 * The visibility query for loops, optionally in one phase: the same text works in the Web UI's
 * workflow list and in `tdl list --phase`.
 */
export function loopListQuery(phase?: string): string {
  const loops = `WorkflowType = "${WORKFLOW_TYPE}"`;
  return phase === undefined ? loops : `${loops} AND ${LoopPhase.name} = ${JSON.stringify(phase)}`;
}
