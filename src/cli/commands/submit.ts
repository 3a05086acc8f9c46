import { createParallelixClient, type SubmitResult } from '../../sdk/index.js';
import type { ChatMessage } from '../../protocol/inference.js';
import { ConfigError, InvalidInputError } from '../../shared/errors.js';
import { codecKeyFile } from '../../codec/codec-key.js';
import { existingCodecKey, localStackRunning, openDatabase, resolveTemporal } from '../../config/connections.js';
import { listOfferedModels } from '../../gateway/models.js';
import { DEMO_USER } from '../demo.js';
import { say } from '../output.js';
import { withSpinner } from '../spinner.js';

export interface SubmitFlags {
  /** Default: the local stack's demo user, when a local stack is running. */
  user?: string;
  /** Default: the only model the active nodes offer, when there is exactly one. */
  model?: string;
  /** Default: standard input (a prompt in argv lands in the shell's history). */
  prompt?: string;
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
  const user = flags.user ?? defaultUser();
  const model = flags.model ?? (await defaultModel());
  const prompt = flags.prompt ?? (await readPrompt());
  const messages: ChatMessage[] = [
    ...(flags.system ? [{ role: 'system' as const, content: flags.system }] : []),
    { role: 'user', content: prompt },
  ];
  const temporal = resolveTemporal();
  const client = await createParallelixClient({ address: temporal.address, namespace: temporal.namespace, codecKey: key });
  try {
    const handle = await client.submit({
      userId: user,
      model,
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
        userId: user,
        model,
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

function defaultUser(): string {
  if (localStackRunning()) return DEMO_USER;
  throw new ConfigError('--user is required: no local stack is running whose demo user it could default to');
}

/** The one model the active nodes offer; with none or several, the caller must choose. */
async function defaultModel(): Promise<string> {
  let models: string[];
  const db = openDatabase();
  try {
    models = (await listOfferedModels(db)).map((m) => m.id);
  } catch (error) {
    throw new ConfigError('--model is required: the offered models could not be read', { details: error instanceof Error ? error.message : String(error), cause: error });
  } finally {
    await db.$disconnect();
  }
  if (models.length === 1) return models[0]!;
  throw new ConfigError(models.length === 0 ? '--model is required: no active node offers a model now' : `--model is required: active nodes offer ${models.length} models (${models.join(', ')})`);
}

/** The prompt from standard input, to its end (Ctrl-D on a terminal); one trailing newline is dropped. */
async function readPrompt(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Prompt (end with Ctrl-D; or pass --prompt):\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const prompt = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (prompt.trim() === '') throw new InvalidInputError('the prompt is empty: pass --prompt or write it to standard input');
  return prompt;
}
