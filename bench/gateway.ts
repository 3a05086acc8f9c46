/**
 * `npm run bench:gateway [-- --runs N]`: time to first chunk and total time of a streamed answer through each
 * OpenAI client against a real `parallelix gateway` process, beside the client SDK path, for 16 and 256 new tokens,
 * on the embedded local stack (one operator, tiny test model, p = 0). Clients take turns run by run, so a noisy
 * moment hits all of them alike. Also CPU ms per request: of the gateway process (from /proc) and of this process
 * (clients + SDK + the in-process coordinator). Writes bench/results/gateway-<timestamp>.json and prints a table.
 */
import './quiet-logs.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { streamText } from 'ai';
import OpenAI from 'openai';
import { createApiKey } from '../src/gateway/api-keys.js';
import { getFreePort } from '../src/shared/ports.js';
import { createParallelixClient, type ParallelixClient } from '../src/sdk/index.js';
import { projectRoot } from '../src/shared/paths.js';
import { spawnCli } from '../test/helpers/cli-process.js';
import { startTestNetwork, TEST_MODEL } from '../test/helpers/network.js';
import { FRANCE_MESSAGES } from '../test/fixtures/reference-prompt.js';
import { machineFacts } from './machine.js';
import { distribution, round, type Distribution } from './stats.js';
import { formatTable } from './table.js';
import { codecKeyFile, coordinatorKeyDir } from '../src/codec/codec-key.js';
import { runBench } from './standalone.js';

interface Timing {
  firstChunkMs: number;
  totalMs: number;
  text: string;
}

type Run = (maxTokens: number) => Promise<Timing>;

const started = Date.now();
const progress = (msg: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}`);

function runsOption(argv: string[]): number {
  const at = argv.indexOf('--runs');
  const runs = at >= 0 ? Number(argv[at + 1]) : 20;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('usage: npm run bench:gateway [-- --runs N]');
  return runs;
}

/** Times one stream: first non-empty text piece, and the end of the stream. */
async function timed(pieces: () => AsyncIterable<string>): Promise<Timing> {
  const t0 = performance.now();
  let first = Number.NaN;
  let text = '';
  for await (const piece of pieces()) {
    if (piece && Number.isNaN(first)) first = performance.now() - t0;
    text += piece;
  }
  return { firstChunkMs: first, totalMs: performance.now() - t0, text };
}

/** utime + stime of a process in ms (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function clients(px: ParallelixClient, userId: string, baseURL: string, apiKey: string): Record<string, Run> {
  const system = FRANCE_MESSAGES[0]!.content;
  const prompt = FRANCE_MESSAGES[1]!.content;
  const openai = new OpenAI({ apiKey, baseURL, maxRetries: 0 });
  const aiSdk = createOpenAI({ apiKey, baseURL });
  return {
    'SDK (no gateway)': (maxTokens) =>
      timed(async function* () {
        yield* (await px.submit({ userId, model: TEST_MODEL, messages: FRANCE_MESSAGES, maxNewTokens: maxTokens })).stream();
      }),
    'openai chat.completions': (maxTokens) =>
      timed(async function* () {
        const stream = await openai.chat.completions.create({ model: TEST_MODEL, messages: FRANCE_MESSAGES, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } });
        for await (const chunk of stream) yield chunk.choices[0]?.delta.content ?? '';
      }),
    'openai responses': (maxTokens) =>
      timed(async function* () {
        const stream = await openai.responses.create({ model: TEST_MODEL, instructions: system, input: prompt, max_output_tokens: maxTokens, stream: true });
        for await (const event of stream) if (event.type === 'response.output_text.delta') yield event.delta;
      }),
    'AI SDK openai() (responses)': (maxTokens) =>
      timed(() => streamText({ model: aiSdk(TEST_MODEL), system, prompt, maxOutputTokens: maxTokens, maxRetries: 0 }).textStream),
    'AI SDK openai.chat()': (maxTokens) =>
      timed(() => streamText({ model: aiSdk.chat(TEST_MODEL), system, prompt, maxOutputTokens: maxTokens, maxRetries: 0 }).textStream),
    'LangChain ChatOpenAI': (maxTokens) =>
      timed(async function* () {
        const chat = new ChatOpenAI({ model: TEST_MODEL, apiKey, configuration: { baseURL }, maxTokens, maxRetries: 0 });
        for await (const chunk of await chat.stream([['system', system], ['human', prompt]])) yield typeof chunk.content === 'string' ? chunk.content : '';
      }),
  };
}

interface ClientResult {
  client: string;
  maxTokens: number;
  runs: number;
  firstChunkMs: Distribution;
  totalMs: Distribution;
  /** p50 minus the SDK path's p50, same token count. */
  addedFirstChunkMsP50: number;
  addedTotalMsP50: number;
  /** p50 over the SDK path's p50. */
  totalRatioP50: number;
  gatewayCpuMsPerRequest: number | null;
  benchProcessCpuMsPerRequest: number;
}

async function main(): Promise<void> {
  const runs = runsOption(process.argv.slice(2));
  progress('starting the local stack (Temporal dev server, PostgreSQL database, anvil, coordinator, 1 operator)');
  const network = await startTestNetwork({ policy: { sampleProbability: 0 }, operatorNames: ['bench-1'] });
  const px = await createParallelixClient({
    address: network.temporal.server.address,
    namespace: network.temporal.server.namespace,
    codecKeyFile: codecKeyFile(coordinatorKeyDir(network.stateRoot)),
  });
  const port = await getFreePort();
  const gateway = spawnCli(['gateway', '--port', String(port)], { ...network.cliEnv(), PARALLELIX_GATEWAY_RATE_LIMIT_RPM: '0', PARALLELIX_LOG_LEVEL: 'warn' });
  try {
    await gateway.waitFor('gateway listening');
    const gatewayPid = gateway.child.pid!;
    const userId = `bench-gateway-${process.pid}`;
    const { key } = await createApiKey(network.db, userId, 'bench');
    await network.fund(userId, 1_000_000_000);
    const runners = clients(px, userId, `http://127.0.0.1:${port}/v1`, key);
    const names = Object.keys(runners);
    const results: ClientResult[] = [];
    for (const maxTokens of [16, 256]) {
      progress(`${maxTokens} tokens: warm-up (2 runs per client)`);
      for (let i = 0; i < 2; i += 1) for (const name of names) await runners[name]!(maxTokens);
      const samples = new Map(names.map((name) => [name, { timings: [] as Timing[], gatewayCpu: 0, selfCpu: 0 }]));
      for (let i = 0; i < runs; i += 1) {
        for (const name of names) {
          const sample = samples.get(name)!;
          const [gatewayBefore, selfBefore] = [processCpuMs(gatewayPid), selfCpuMs()];
          sample.timings.push(await runners[name]!(maxTokens));
          sample.gatewayCpu += processCpuMs(gatewayPid) - gatewayBefore;
          sample.selfCpu += selfCpuMs() - selfBefore;
        }
        if ((i + 1) % 5 === 0) progress(`${maxTokens} tokens: ${i + 1}/${runs} rounds`);
      }
      const texts = new Set(names.map((name) => samples.get(name)!.timings[0]!.text));
      if (texts.size !== 1) throw new Error(`clients received different texts for ${maxTokens} tokens`);
      const sdk = samples.get(names[0]!)!;
      const sdkFirst = distribution(sdk.timings.map((t) => t.firstChunkMs));
      const sdkTotal = distribution(sdk.timings.map((t) => t.totalMs));
      for (const name of names) {
        const sample = samples.get(name)!;
        const firstChunkMs = distribution(sample.timings.map((t) => t.firstChunkMs));
        const totalMs = distribution(sample.timings.map((t) => t.totalMs));
        results.push({
          client: name,
          maxTokens,
          runs,
          firstChunkMs,
          totalMs,
          addedFirstChunkMsP50: round(firstChunkMs.p50 - sdkFirst.p50),
          addedTotalMsP50: round(totalMs.p50 - sdkTotal.p50),
          totalRatioP50: round(totalMs.p50 / sdkTotal.p50, 3),
          gatewayCpuMsPerRequest: name === names[0] ? null : round(sample.gatewayCpu / runs),
          benchProcessCpuMsPerRequest: round(sample.selfCpu / runs),
        });
      }
    }
    const report = {
      startedAt: new Date(started).toISOString(),
      durationSeconds: round((Date.now() - started) / 1000),
      machine: machineFacts(),
      note: 'p50 over runs; clients interleaved run by run; gateway CPU from /proc (10 ms ticks); bench-process CPU includes the in-process coordinator',
      results,
    };
    const dir = path.join(projectRoot, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `gateway-${report.startedAt.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(
      `\n${formatTable(
        ['client', 'tokens', 'first p50', 'first p95', 'total p50', 'total p95', '+first', '+total', 'total ×', 'gw CPU/req', 'bench CPU/req'],
        results.map((r) => [
          r.client,
          r.maxTokens,
          r.firstChunkMs.p50,
          r.firstChunkMs.p95,
          r.totalMs.p50,
          r.totalMs.p95,
          r.addedFirstChunkMsP50,
          r.addedTotalMsP50,
          r.totalRatioP50,
          r.gatewayCpuMsPerRequest ?? '',
          r.benchProcessCpuMsPerRequest,
        ]),
      )}\n(ms; +first/+total/× against the SDK path's p50, same token count)\nwrote ${path.relative(projectRoot, file)}`,
    );
  } finally {
    gateway.child.kill('SIGTERM');
    await gateway.exited;
    await px.close();
    await network.stop();
  }
}

runBench(main);
