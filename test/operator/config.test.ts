import path from 'node:path';
import { parseOperatorConfig } from '../../src/operator/config.js';
import { ConfigError } from '../../src/shared/errors.js';

describe('operator configuration', () => {
  test('defaults: the local operator endpoint, tiny model, key file under the state folder', () => {
    const config = parseOperatorConfig({ PARALLELIX_STATE_DIR: '/tmp/px-state-none', PARALLELIX_MODEL_PATH: '/models' });
    expect(config).toEqual({
      endpoint: { address: '127.0.0.1:7280', tls: false },
      name: 'default',
      keyFile: expect.stringMatching(/[/\\]operators[/\\]default[/\\]node-key\.json$/) as unknown as string,
      model: 'tiny-random-LlamaForCausalLM-fp16',
      modelPath: path.resolve('/models'),
      dtype: 'fp16',
      device: 'auto',
      maxContextTokens: 2048,
      maxNewTokens: 256,
      concurrency: 1,
      batchMax: 1,
      intraOpThreads: 'auto',
      intraOpSpinning: false,
      shutdownGraceMs: 10_000,
    });
  });

  test('environment values are parsed, empty ones ignored, CLI overrides win', () => {
    const config = parseOperatorConfig(
      {
        PARALLELIX_OPERATOR_ENDPOINT: 'endpoint.example:7280',
        PARALLELIX_OPERATOR_ENDPOINT_TLS_CA: '/ca.pem',
        PARALLELIX_TEMPORAL_ADDRESS: 'temporal.example:7233',
        PARALLELIX_OPERATOR_NAME: 'gpu-1',
        PARALLELIX_OPERATOR_KEY_FILE: '/keys/n.json',
        PARALLELIX_DEVICE: 'webgpu',
        PARALLELIX_MAX_NEW_TOKENS: '512',
        PARALLELIX_OPERATOR_CONCURRENCY: '',
      },
      { concurrency: '4', device: 'cpu', model: undefined },
    );
    // Operators read no Temporal settings at all: the endpoint is their only door.
    expect(config.endpoint).toEqual({ address: 'endpoint.example:7280', tls: true, caFile: path.resolve('/ca.pem') });
    expect(JSON.stringify(config)).not.toContain('temporal.example');
    expect(config.name).toBe('gpu-1');
    expect(config.keyFile).toBe(path.resolve('/keys/n.json'));
    expect(config.device).toBe('cpu');
    expect(config.maxNewTokens).toBe(512);
    expect(config.concurrency).toBe(4);
    expect(config.model).toBe('tiny-random-LlamaForCausalLM-fp16');
  });

  test('onnxruntime threads: a count or auto, spinning a boolean; the CLI flag wins', () => {
    expect(parseOperatorConfig({ PARALLELIX_INTRA_OP_THREADS: '2', PARALLELIX_INTRA_OP_SPINNING: 'true' })).toMatchObject({ intraOpThreads: 2, intraOpSpinning: true });
    expect(parseOperatorConfig({ PARALLELIX_INTRA_OP_THREADS: '2' }, { intraOpThreads: 'auto' }).intraOpThreads).toBe('auto');
    expect(parseOperatorConfig({}, { intraOpThreads: '3' }).intraOpThreads).toBe(3);
  });

  test.each([
    [{ PARALLELIX_DEVICE: 'gpu' }, /PARALLELIX_DEVICE/],
    [{ PARALLELIX_OPERATOR_CONCURRENCY: '0' }, /PARALLELIX_OPERATOR_CONCURRENCY/],
    [{ PARALLELIX_OPERATOR_BATCH_MAX: '0' }, /PARALLELIX_OPERATOR_BATCH_MAX/],
    [{ PARALLELIX_MAX_NEW_TOKENS: '1.5' }, /PARALLELIX_MAX_NEW_TOKENS/],
    [{ PARALLELIX_OPERATOR_ENDPOINT: 'no-port' }, /PARALLELIX_OPERATOR_ENDPOINT must be host:port/],
    [{ PARALLELIX_OPERATOR_NAME: '../escape' }, /PARALLELIX_OPERATOR_NAME/],
    [{ PARALLELIX_INTRA_OP_THREADS: '0' }, /PARALLELIX_INTRA_OP_THREADS/],
    [{ PARALLELIX_INTRA_OP_THREADS: 'many' }, /PARALLELIX_INTRA_OP_THREADS/],
    [{ PARALLELIX_INTRA_OP_SPINNING: 'yes' }, /PARALLELIX_INTRA_OP_SPINNING/],
  ])('rejects %j with a ConfigError naming the variable', (env, message) => {
    let error: unknown;
    try {
      parseOperatorConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
    expect((error as Error).message).toMatch(message);
  });

  test('the test-only logit noise is refused outside NODE_ENV=test, and parsed inside it', () => {
    expect(() => parseOperatorConfig({ PARALLELIX_TEST_LOGIT_NOISE: '0.01' })).toThrow(ConfigError);
    expect(() => parseOperatorConfig({ PARALLELIX_TEST_LOGIT_NOISE: '0.01', NODE_ENV: 'production' })).toThrow(/tests and benchmarks only/);
    expect(parseOperatorConfig({ PARALLELIX_TEST_LOGIT_NOISE: '0.01', PARALLELIX_TEST_LOGIT_NOISE_SEED: '9', NODE_ENV: 'test' }).testLogitNoise).toEqual({ size: 0.01, seed: 9 });
    expect(() => parseOperatorConfig({ PARALLELIX_TEST_LOGIT_NOISE: '-1', NODE_ENV: 'test' })).toThrow(ConfigError);
    expect(parseOperatorConfig({ NODE_ENV: 'test' }).testLogitNoise).toBeUndefined();
  });
});
