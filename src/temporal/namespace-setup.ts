import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import type { DevServerConfig } from './dev-server-config.js';
import { ConfigError, ProvisioningError } from '../shared/errors.js';

// @temporalio/proto is CommonJS: Node's ESM loader sees only its default export.
const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
type IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
/** gRPC status codes (google.rpc.Code) the setup tells apart. */
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
type SearchAttributeTypeName = DevServerConfig['searchAttributes'][string];

const VALUE_TYPES: Record<SearchAttributeTypeName, IndexedValueType> = {
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

export interface NamespaceSpec {
  namespace: string;
  /** Closed workflows are kept this long, e.g. "72h". */
  retention: string;
  searchAttributes: Record<string, SearchAttributeTypeName>;
}

export interface NamespaceSetupResult {
  createdNamespace: boolean;
  addedSearchAttributes: string[];
}

function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function retentionSeconds(retention: string): number {
  const match = /^(\d+)h$/.exec(retention);
  if (!match) throw new ConfigError(`namespace retention must be a number of hours such as "72h", not ${retention}`);
  return Number(match[1]) * 3600;
}

/**
 * The project's namespace and search attributes on any Temporal service, through its public APIs
 * (RegisterNamespace, OperatorService.AddSearchAttributes): what exists is left alone, what is missing is added,
 * and an attribute registered with another type is a ConfigError. Safe to run again and from several processes.
 */
export async function ensureNamespace(connection: Connection, spec: NamespaceSpec, report: (message: string) => void = () => undefined): Promise<NamespaceSetupResult> {
  const { namespace } = spec;
  let createdNamespace = false;
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (error) {
    if (grpcCode(error) !== NOT_FOUND) throw error;
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(retentionSeconds(spec.retention) * 1000),
        description: 'ParalleliX inference requests',
      });
      createdNamespace = true;
      report(`registered namespace ${namespace} (retention ${spec.retention})`);
    } catch (registerError) {
      if (grpcCode(registerError) !== ALREADY_EXISTS) throw registerError;
    }
  }

  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const existing = customAttributes ?? {};
  const missing: Record<string, IndexedValueType> = {};
  for (const [name, typeName] of Object.entries(spec.searchAttributes)) {
    const wanted = VALUE_TYPES[typeName];
    const found = existing[name];
    if (found === undefined || found === null) missing[name] = wanted;
    else if (found !== wanted) {
      throw new ConfigError(`search attribute ${name} exists in namespace ${namespace} with another type`, {
        details: `wanted ${typeName}, found ${IndexedValueType[found] ?? String(found)}`,
      });
    }
  }
  const added = Object.keys(missing);
  if (added.length > 0) {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    report(`added search attributes to ${namespace}: ${added.join(', ')}`);
  }
  return { createdNamespace, addedSearchAttributes: added };
}

/**
 * Waits until the namespace serves workflow APIs on this frontend: a freshly registered namespace reaches the
 * frontend's namespace cache only after its next refresh.
 */
export async function waitForNamespace(connection: Connection, namespace: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await connection.workflowService.countWorkflowExecutions({ namespace, query: '' });
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new ProvisioningError(`namespace ${namespace} is not served after ${timeoutMs} ms`, { details: String(lastError), cause: lastError });
}
