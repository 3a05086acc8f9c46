import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createIdentity, publicIdentity, signPoe } from '../../src/crypto/index.js';
import { createInterface } from 'node:readline';
import { mnemonicToAccount } from 'viem/accounts';
import { ProvisioningError } from '../../src/shared/errors.js';
import { projectRoot } from '../../src/shared/paths.js';
import { ANVIL_DEV_ACCOUNTS, ANVIL_DEV_MNEMONIC, anvilRpc, crashAnvilKeepingMinedBlocks, startAnvil } from '../../src/chain/anvil.js';
import { getFreePort } from '../../src/shared/ports.js';
import { ensureRegistry } from '../../src/chain/deploy.js';
import { createRegistryClient } from '../../src/chain/registry.js';
import { answersRpc, groupAlive, waitUntil } from './helpers.js';

const deployer = ANVIL_DEV_ACCOUNTS[0]!;

describe('anvil process', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'parallelix-anvil-test-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('dev account constants are the mnemonic\'s first accounts', () => {
    ANVIL_DEV_ACCOUNTS.forEach((acct, i) => {
      expect(mnemonicToAccount(ANVIL_DEV_MNEMONIC, { addressIndex: i }).address).toBe(acct.address);
    });
  });

  test('starts, answers, and stop leaves no process behind', async () => {
    const port = await getFreePort();
    const anvil = await startAnvil({ port });
    expect(anvil.chainId).toBe(31337);
    expect(await answersRpc(anvil.rpcUrl)).toBe(true);
    expect(groupAlive(anvil.pid)).toBe(true);
    await anvil.stop();
    await anvil.stop(); // second stop is a no-op
    expect(groupAlive(anvil.pid)).toBe(false);
    expect(await answersRpc(anvil.rpcUrl)).toBe(false);
  });

  test('a busy port is a ProvisioningError', async () => {
    const port = await getFreePort();
    const first = await startAnvil({ port });
    try {
      await expect(startAnvil({ port })).rejects.toThrow(ProvisioningError);
    } finally {
      await first.stop();
    }
  });

  test('anvil dies with its parent even when the parent is SIGKILLed', async () => {
    const port = await getFreePort();
    // node itself runs the fixture (tsx as a loader), so SIGKILL hits the process that owns anvil.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test/chain/fixtures/anvil-child.ts'), String(port)], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
      });
      const { pid, rpcUrl } = JSON.parse(line) as { pid: number; rpcUrl: string };
      expect(await answersRpc(rpcUrl)).toBe(true);
      child.kill('SIGKILL');
      expect(await waitUntil(() => !groupAlive(pid))).toBe(true);
      expect(await answersRpc(rpcUrl)).toBe(false);
    } finally {
      child.kill('SIGKILL');
      child.stdout?.destroy();
    }
  });

  test('a deliberate hard crash loses no mined block, however long the dump interval', async () => {
    const stateFile = path.join(tmp, 'crash-state.json');
    const port = await getFreePort();
    // A dump interval longer than any fixed wait would cover: the crash must wait for a dump that holds the blocks.
    const first = await startAnvil({ port, stateFile, stateIntervalSeconds: 4 });
    let mined: number;
    try {
      await anvilRpc(first.rpcUrl, 'anvil_mine', ['0x40']);
      mined = Number.parseInt(String(await anvilRpc(first.rpcUrl, 'eth_blockNumber')), 16);
      expect(mined).toBe(64);
      await crashAnvilKeepingMinedBlocks(first, stateFile);
      expect(groupAlive(first.pid)).toBe(false);
    } finally {
      await first.stop();
    }
    const second = await startAnvil({ port, stateFile });
    try {
      expect(Number.parseInt(String(await anvilRpc(second.rpcUrl, 'eth_blockNumber')), 16)).toBe(mined);
    } finally {
      await second.stop();
    }
  });

  test('state file keeps the deployed registry and its records across restarts', async () => {
    const stateFile = path.join(tmp, 'anvil-state.json');
    const chainFile = path.join(tmp, 'chain.json');
    const port = await getFreePort();
    const signer = createIdentity();
    const record = {
      requestId: 'persisted-request',
      nodeId: 'node-p',
      poe: 'cd'.repeat(32),
      verdict: 'Accepted',
      mode: 'none',
      signPublicKey: publicIdentity(signer).signPublicKey,
      signature: signPoe('cd'.repeat(32), signer.sign.secretKey),
    } as const;

    const first = await startAnvil({ port, stateFile });
    let address;
    try {
      const ensured = await ensureRegistry({ rpcUrl: first.rpcUrl, privateKey: deployer.privateKey, file: chainFile });
      expect(ensured.deployed).toBe(true);
      address = ensured.address;
      const client = createRegistryClient({ rpcUrl: first.rpcUrl, chainId: first.chainId, privateKey: deployer.privateKey, address });
      await client.anchorRecord(record);
    } finally {
      await first.stop();
    }

    const second = await startAnvil({ port, stateFile });
    try {
      const ensured = await ensureRegistry({ rpcUrl: second.rpcUrl, privateKey: deployer.privateKey, file: chainFile });
      expect(ensured).toMatchObject({ deployed: false, address });
      const client = createRegistryClient({ rpcUrl: second.rpcUrl, chainId: second.chainId, privateKey: deployer.privateKey, address });
      expect(await client.readRecord(record.requestId)).toMatchObject({ verdict: 'Accepted', poe: `0x${record.poe}` });
      const again = await client.anchorRecord(record);
      expect(again.alreadyAnchored).toBe(true);
    } finally {
      await second.stop();
    }

    // A fresh chain (no state file) has no code at the stored address: ensureRegistry redeploys.
    const third = await startAnvil({ port });
    try {
      const ensured = await ensureRegistry({ rpcUrl: third.rpcUrl, privateKey: deployer.privateKey, file: chainFile });
      expect(ensured.deployed).toBe(true);
    } finally {
      await third.stop();
    }
  });
});
