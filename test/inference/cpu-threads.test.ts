import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuSessionOptions, intraOpThreadsFor, localWeightBytes, resolveCpuThreads, WEIGHT_BYTES_PER_THREAD } from '../../src/inference/cpu-threads.js';

describe('onnxruntime CPU threads', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'px-threads-'));
    mkdirSync(path.join(dir, 'm', 'onnx'), { recursive: true });
    writeFileSync(path.join(dir, 'm', 'onnx', 'model_fp16.onnx'), Buffer.alloc(1000));
    writeFileSync(path.join(dir, 'm', 'onnx', 'model.onnx.data'), Buffer.alloc(5000));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('sized to the weights: one thread per share of weights, at least one, at most the cores', () => {
    expect(intraOpThreadsFor(5_000_000, 16)).toBe(1);
    expect(intraOpThreadsFor(WEIGHT_BYTES_PER_THREAD + 1, 16)).toBe(2);
    expect(intraOpThreadsFor(1_000_000_000, 16)).toBe(15);
    expect(intraOpThreadsFor(10_000_000_000, 2)).toBe(2);
  });

  test('weights of a local model: the dtype graph plus its external data; unknown models give null', () => {
    expect(localWeightBytes(dir, 'm', 'fp16')).toBe(6000);
    expect(localWeightBytes(dir, 'm', 'q4')).toBeNull();
    expect(localWeightBytes(dir, 'absent', 'fp16')).toBeNull();
  });

  test('an explicit count wins over auto; auto on the tiny model is one thread', () => {
    expect(resolveCpuThreads({ intraOpThreads: 3, spinning: true, modelPath: dir, model: 'm', dtype: 'fp16' })).toEqual({ intraOpThreads: 3, spinning: true });
    expect(resolveCpuThreads({ intraOpThreads: 'auto', spinning: false, modelPath: dir, model: 'm', dtype: 'fp16' })).toEqual({ intraOpThreads: 1, spinning: false });
    expect(resolveCpuThreads({ intraOpThreads: 'auto', spinning: false, modelPath: dir, model: 'absent', dtype: 'fp16' }).intraOpThreads).toBe(os.availableParallelism());
  });

  test('session options: thread counts and the spinning config entries onnxruntime reads', () => {
    expect(cpuSessionOptions({ intraOpThreads: 2, spinning: false })).toEqual({
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
  });
});
