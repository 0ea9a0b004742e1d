/**
 * Connection settings by Temporal's own conventions (@temporalio/envconfig): TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS variables and temporal.toml profiles.
 */
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { dataConverter, payloadCodecs } from './codec';

export const DEFAULT_ADDRESS = 'localhost:7233';

export interface ConnectionSettings {
  /** True when the user configured an address (env or profile); false means "use the embedded default". */
  configured: boolean;
  address: string;
  namespace: string;
  connectionOptions: NativeConnectionOptions;
  /** Payload encryption when TDL_ENCRYPTION_KEY is set (the worker's and every client's). */
  payloadCodecs: PayloadCodec[];
}

export function connectionSettings(): ConnectionSettings {
  const profile = loadClientConfigProfile();
  const { connectionOptions, namespace } = toClientOptions(profile);
  const address = profile.address ?? DEFAULT_ADDRESS;
  return {
    configured: profile.address !== undefined,
    address,
    namespace: namespace ?? 'default',
    connectionOptions: { ...connectionOptions, address },
    payloadCodecs: payloadCodecs(),
  };
}

export async function connectClient(settings = connectionSettings()): Promise<Client> {
  const { address, tls, apiKey, metadata } = settings.connectionOptions;
  const connection = await Connection.connect({ address, tls, apiKey, metadata });
  return new Client({ connection, namespace: settings.namespace, dataConverter: dataConverter(settings.payloadCodecs) });
}
