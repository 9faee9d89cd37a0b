import { status as GrpcStatus } from '@grpc/grpc-js';
import { type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../common/constants';

const INDEXED_TYPE = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  DOUBLE: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
} as const;

/** Registers reelflow's custom search attributes on the namespace if they are missing (idempotent). */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<void> {
  let known: Record<string, unknown> = {};
  try {
    known = (await client.connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  } catch (err) {
    // The time-skipping test server cannot list search attributes, but can add them.
    if ((err as { code?: number }).code !== GrpcStatus.UNIMPLEMENTED) throw err;
  }
  const missing = Object.values(SEARCH_ATTRIBUTES).filter((k) => !(k.name in known));
  if (missing.length === 0) return;
  await client.connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map((k) => [k.name, INDEXED_TYPE[k.type as keyof typeof INDEXED_TYPE]])
    ),
  });
}
