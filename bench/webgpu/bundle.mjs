// Bundles bench/webgpu-vs-cpu.ts for a machine without node_modules (issue 13's GPU measurement).
// onnxruntime-node/-common stay external (native binding, shipped beside the bundle, resolved as in a normal install);
// sharp (image decoding, never used by text models) is replaced by a function that refuses, so libvips need not travel
// (transformers.js only checks at import time that an image library exists).
import { createRequire } from 'node:module';
import { writeFileSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
const [, , src, outfile] = process.argv;
// esbuild from the checkout's node_modules (this file may live outside it).
const { build } = createRequire(path.join(src, 'package.json'))('esbuild');
const stub = path.join(mkdtempSync(path.join(os.tmpdir(), 'kit-')), 'sharp-absent.mjs');
writeFileSync(stub, "export default function sharpAbsent() { throw new Error('image input: sharp is not in this kit'); }\n");
await build({
  entryPoints: [path.join(src, 'bench/webgpu-vs-cpu.ts')],
  absWorkingDir: src,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile,
  external: ['onnxruntime-node', 'onnxruntime-common'],
  alias: { sharp: stub },
  banner: { js: "import { createRequire as __kitRequire } from 'node:module'; const require = __kitRequire(import.meta.url);" },
  logLevel: 'warning',
});
