import { ConfigError } from '../../src/shared/errors.js';
import { loadChainConfig } from '../../src/chain/config.js';

const KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const remote = {
  PARALLELIX_CHAIN_RPC_URL: 'https://rpc.example.test',
  PARALLELIX_CHAIN_ID: '11155111',
  PARALLELIX_CHAIN_PRIVATE_KEY: KEY,
  PARALLELIX_REGISTRY_ADDRESS: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
};

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('chain config', () => {
  test('no chain variables: local mode with defaults', () => {
    expect(loadChainConfig({})).toEqual({ mode: 'local', anvilPort: 8545, confirmations: 1 });
    expect(loadChainConfig({ PARALLELIX_ANVIL_PORT: '9545' })).toMatchObject({ anvilPort: 9545 });
  });

  test('remote mode parses and checksums the address', () => {
    expect(loadChainConfig({ ...remote, PARALLELIX_CHAIN_CONFIRMATIONS: '3' })).toEqual({
      mode: 'remote',
      rpcUrl: remote.PARALLELIX_CHAIN_RPC_URL,
      chainId: 11155111,
      privateKey: KEY,
      registryAddress: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      confirmations: 3,
    });
  });

  test('partial configuration names what is missing', () => {
    const err = errorOf(() => loadChainConfig({ PARALLELIX_CHAIN_RPC_URL: remote.PARALLELIX_CHAIN_RPC_URL }));
    expect(err.message).toContain('PARALLELIX_CHAIN_PRIVATE_KEY');
    expect(err.message).toContain('PARALLELIX_REGISTRY_ADDRESS');
  });

  test('invalid values are rejected without echoing the private key', () => {
    const badKey = `${KEY}ff`;
    const err = errorOf(() => loadChainConfig({ ...remote, PARALLELIX_CHAIN_PRIVATE_KEY: badKey, PARALLELIX_CHAIN_ID: 'x' }));
    expect(err.message).toContain('PARALLELIX_CHAIN_PRIVATE_KEY');
    expect(err.message).toContain('PARALLELIX_CHAIN_ID');
    expect(err.message).not.toContain(KEY.slice(2, 20));
    expect(JSON.stringify(err)).not.toContain(KEY.slice(2, 20));
  });

  test('a mistyped checksum address is rejected', () => {
    const err = errorOf(() => loadChainConfig({ ...remote, PARALLELIX_REGISTRY_ADDRESS: '0x5FbDB2315678afecb367f032d93F642f64180aA3' }));
    expect(err.message).toContain('checksum');
  });
});
