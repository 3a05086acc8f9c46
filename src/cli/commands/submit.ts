import { createParallelixClient, type SubmitResult } from '../../sdk/index.js';
import type { ChatMessage } from '../../protocol/inference.js';
import { ConfigError } from '../../shared/errors.js';
import { codecKeyFile, existingCodecKey, resolveTemporal } from '../../config/connections.js';
import { say } from '../output.js';
import { withSpinner } from '../spinner.js';

export interface SubmitFlags {
  user: string;
  model: string;
  prompt: string;
  system?: string;
  maxNewTokens: number;
  idempotencyKey?: string;
  json?: boolean;
}

/**
 * `parallelix submit`: one request through the SDK. Streams the verified text to stdout, then a summary on
 * stderr; `--json` prints one JSON object instead. Typed SDK errors become exit codes in main.ts.
 */
export async function submitCommand(flags: SubmitFlags): Promise<void> {
  const key = existingCodecKey();
  if (!key) {
    throw new ConfigError('the coordinator codec key is not available here', {
      details: `set PARALLELIX_CODEC_KEY or run where ${codecKeyFile()} exists (PARALLELIX_STATE_DIR)`,
    });
  }
  const messages: ChatMessage[] = [
    ...(flags.system ? [{ role: 'system' as const, content: flags.system }] : []),
    { role: 'user', content: flags.prompt },
  ];
  const temporal = resolveTemporal();
  const client = await createParallelixClient({ address: temporal.address, namespace: temporal.namespace, codecKey: key });
  try {
    const handle = await client.submit({
      userId: flags.user,
      model: flags.model,
      messages,
      maxNewTokens: flags.maxNewTokens,
      ...(flags.idempotencyKey ? { idempotencyKey: flags.idempotencyKey } : {}),
    });
    const requestId = await withSpinner('admitting (steps 01–02)', () => handle.requestId(), flags);
    let result: SubmitResult;
    if (flags.json) {
      result = await handle.result();
      say(JSON.stringify({
        requestId: result.requestId,
        workflowId: handle.workflowId,
        nodeId: result.nodeId,
        result: result.text,
        usage: result.usage,
        poe: result.poe,
        signature: result.signature,
        anchorTx: result.anchorTx,
        sampled: result.sampled,
        sampledNodeIds: result.sampledNodeIds,
        verdict: result.verdict,
        mode: result.mode,
        ...(result.check ? { check: result.check } : {}),
        ...(result.dispute ? { dispute: result.dispute } : {}),
        creditsCharged: result.creditsCharged,
      }));
      return;
    }
    process.stderr.write(`request ${requestId} (workflow ${handle.workflowId})\n`);
    const streamed = withSpinner('running (steps 03–12)', async () => {
      const iterator = handle.stream()[Symbol.asyncIterator]();
      return iterator.next().then((first) => ({ first, iterator }));
    }, flags);
    const { first, iterator } = await streamed;
    if (!first.done) process.stdout.write(first.value);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) process.stdout.write(next.value);
    process.stdout.write('\n');
    result = await handle.result();
    process.stderr.write(`node ${result.nodeId}, verdict ${result.verdict}${result.sampled ? ` (${result.mode} check on ${result.sampledNodeIds.join(', ')})` : ''}\n`);
    process.stderr.write(`PoE ${result.poe}, anchor tx ${result.anchorTx}, ${result.usage.outputTokens} tokens, ${result.creditsCharged} credits charged\n`);
  } finally {
    await client.close();
  }
}
