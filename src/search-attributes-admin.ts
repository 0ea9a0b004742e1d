/**
 * The loop's search attributes on a server: are they there (the workflow asks once per run, through
 * an activity), and registering them (`tdl setup`).
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { LOOP_SEARCH_ATTRIBUTES, LoopCycle, LoopName, LoopPhase, WaitingFor } from './search-attributes';

export const GRPC_INVALID_ARGUMENT = 3;

/** The gRPC status behind an error from either connection kind, or from the client's ServiceError wrapping one. */
export function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code ?? (err as { cause?: { code?: unknown } })?.cause?.code;
  return typeof code === 'number' ? code : undefined;
}

type Connection = Pick<Client['connection'], 'workflowService' | 'operatorService'>;

/**
 * True when the namespace has all four, with types that take the loop's values. Asks by counting
 * with a query naming them (the server refuses a query on an unknown attribute): it needs only
 * read access, so it works on Temporal Cloud too, where the operator service is not served.
 */
export async function hasLoopSearchAttributes(connection: Connection, namespace: string): Promise<boolean> {
  const query = `${LoopPhase.name} = "" AND ${LoopName.name} = "" AND ${WaitingFor.name} = "" AND ${LoopCycle.name} = 0`;
  try {
    await connection.workflowService.countWorkflowExecutions({ namespace, query });
    return true;
  } catch (err) {
    if (grpcCode(err) === GRPC_INVALID_ARGUMENT) return false;
    throw err;
  }
}

/**
 * The search attributes a loop starts with when the namespace has all four: its phase shows in the
 * Web UI's list from its start, and the loop need not ask the server itself (an activity and a
 * workflow task fewer in its history). None on a server without them: the loop keeps to its memo.
 */
export async function loopStartSearchAttributes(client: Client, name: string): Promise<SearchAttributePair[] | undefined> {
  if (!(await hasLoopSearchAttributes(client.connection, client.options.namespace))) return undefined;
  return [
    { key: LoopPhase, value: 'testing' },
    { key: LoopName, value: name },
  ];
}

/** The activity behind the workflow's one question per run. */
export const searchAttributeActivities = {
  loopSearchAttributesRegistered(): Promise<boolean> {
    const ctx = Context.current();
    return hasLoopSearchAttributes(ctx.client.connection, ctx.info.namespace);
  },
};

const INDEXED_TYPE = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

export interface SetupResult {
  added: string[];
  present: string[];
}

/**
 * Registers the attributes the namespace lacks (operator service: self-hosted servers and the dev
 * server). One registered with another type is an error naming it: Temporal cannot change a type.
 */
export async function registerLoopSearchAttributes(connection: Connection, namespace: string): Promise<SetupResult> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const result: SetupResult = { added: [], present: [] };
  const toAdd: Record<string, number> = {};
  for (const key of LOOP_SEARCH_ATTRIBUTES) {
    const wanted = INDEXED_TYPE[key.type as keyof typeof INDEXED_TYPE];
    const existing = customAttributes?.[key.name];
    if (existing === undefined || existing === null) {
      toAdd[key.name] = wanted;
      result.added.push(key.name);
    } else if (existing !== wanted) {
      throw new Error(`search attribute ${key.name} exists in namespace ${namespace} with another type; it must be ${key.type}`);
    } else result.present.push(key.name);
  }
  if (result.added.length) await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: toAdd });
  return result;
}
