// WebGPU probe for the device run (issue 13), straight on onnxruntime-node (no transformers.js):
//  1. can the WebGPU provider (Dawn) get an adapter and build a session on the model? (onnxruntime's verbose log
//     for this first session shows the provider's context lines; VK_LOADER_DEBUG=driver shows the Vulkan driver)
//  2. the same prefill on WebGPU and on CPU: how far apart are the logits, in units of the row's spread (σ), and how
//     often does the argmax differ? This is the raw hardware drift the tolerant check has to absorb.
// PROBE_EP=cpu runs the same on CPU for both (a dry run on a machine without a GPU).
//   node probe.mjs <model.onnx> [sequences=8] [length=64]
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const [, , modelFile, seqArg = '8', lenArg = '64'] = process.argv;
console.log(`backends ${JSON.stringify(ort.listSupportedBackends())}`);
ort.env.logLevel = 'verbose';
let started = Date.now();
let gpu;
try {
  gpu = await ort.InferenceSession.create(modelFile, { executionProviders: [process.env.PROBE_EP ?? 'webgpu'], logSeverityLevel: 0, logVerbosityLevel: 0 });
  console.log(`PROBE OK: webgpu session created in ${Date.now() - started} ms`);
} catch (error) {
  console.log(`PROBE FAIL after ${Date.now() - started} ms: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const cpu = await ort.InferenceSession.create(modelFile, { executionProviders: ['cpu'], logSeverityLevel: 3 });

const half = new Float32Array(65536);
for (let b = 0; b < 65536; b += 1) {
  const s = b & 0x8000 ? -1 : 1;
  const e = (b >> 10) & 0x1f;
  const f = b & 0x3ff;
  half[b] = e === 0 ? s * 2 ** -14 * (f / 1024) : e === 0x1f ? (f ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
}
const values = (t) => (t.type === 'float16' && t.data instanceof Uint16Array ? Float32Array.from(t.data, (b) => half[b]) : Float32Array.from(t.data));

let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
function feeds(session, ids) {
  const n = ids.length;
  const f = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, n]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), [1, n]),
  };
  for (const m of session.inputMetadata) {
    if (m.name.startsWith('past_key_values')) f[m.name] = new ort.Tensor('float16', new Uint16Array(0), [1, m.shape[1], 0, m.shape[3]]);
  }
  return f;
}

const sequences = Number(seqArg);
const length = Number(lenArg);
const drift = []; // per row: max |Δ| / σ
const gaps = []; // per row: CPU-logit gap of the WebGPU argmax, in σ
let rows = 0;
let argmaxDiffer = 0;
for (let s = 0; s < sequences; s += 1) {
  const ids = Array.from({ length }, () => 3 + Math.floor(rand() * 31997));
  const g = values((await gpu.run(feeds(gpu, ids))).logits);
  const c = values((await cpu.run(feeds(cpu, ids))).logits);
  const vocab = c.length / length;
  for (let r = 0; r < length; r += 1) {
    const o = r * vocab;
    let sum = 0;
    let sq = 0;
    let maxDiff = 0;
    let cBest = -Infinity;
    let cArg = 0;
    let gBest = -Infinity;
    let gArg = 0;
    for (let v = 0; v < vocab; v += 1) {
      const x = c[o + v];
      sum += x;
      sq += x * x;
      maxDiff = Math.max(maxDiff, Math.abs(x - g[o + v]));
      if (x > cBest) [cBest, cArg] = [x, v];
      if (g[o + v] > gBest) [gBest, gArg] = [g[o + v], v];
    }
    const sd = Math.sqrt(Math.max(0, sq / vocab - (sum / vocab) ** 2));
    drift.push(maxDiff / sd);
    gaps.push((cBest - c[o + gArg]) / sd);
    rows += 1;
    if (cArg !== gArg) argmaxDiffer += 1;
  }
}
const q = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))];
const result = {
  sequences,
  length,
  rows,
  argmaxDiffer,
  maxAbsLogitDiffSigma: { p50: q(drift, 0.5), p99: q(drift, 0.99), max: Math.max(...drift) },
  cpuGapOfWebgpuArgmaxSigma: { p50: q(gaps, 0.5), p99: q(gaps, 0.99), max: Math.max(...gaps) },
};
console.log(`PROBE DRIFT ${JSON.stringify(result)}`);
await gpu.release();
await cpu.release();
