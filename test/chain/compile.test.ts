import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { executionRegistryAbi, type ExecutionRegistryAbi } from '../../src/chain/abi.js';
import { REGISTRY_ARTIFACT_PATH, loadRegistryArtifact, renderAbiModule, writeArtifact } from '../../src/chain/artifact.js';
import { compileContract, compileRegistry, readRegistrySource, solcVersion } from '../../src/chain/compile.js';
import { ContractCompileError } from '../../src/chain/errors.js';
import { VERDICT_CODES } from '../../src/chain/record.js';

type FunctionName = Extract<ExecutionRegistryAbi[number], { type: 'function' }>['name'];

describe('ExecutionRegistry compilation', () => {
  const compiled = compileRegistry();

  test('the generated ABI module holds the compiled ABI as const, and the one imported is current', () => {
    const source = renderAbiModule(compiled.abi);
    const literal = /export const executionRegistryAbi = ([\s\S]*) as const;\n/.exec(source)?.[1];
    expect(JSON.parse(literal ?? 'null')).toEqual(compiled.abi);
    expect(source).toContain('export type ExecutionRegistryAbi = typeof executionRegistryAbi;');
    expect(JSON.parse(JSON.stringify(executionRegistryAbi))).toEqual(compiled.abi);
    // Type-level: viem infers from literal names (this line does not compile if the ABI were typed loosely).
    const literalNames: string extends FunctionName ? false : true = true;
    expect(literalNames).toBe(true);
  });

  test('writeArtifact writes the ABI module beside the artifact', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'abi-module-'));
    try {
      writeArtifact(compiled, path.join(dir, 'R.json'), path.join(dir, 'R.abi.ts'));
      expect(readFileSync(path.join(dir, 'R.abi.ts'), 'utf8')).toBe(renderAbiModule(compiled.abi));
      expect(JSON.parse(readFileSync(path.join(dir, 'R.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(compiled)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('two compiles give byte-identical creation and runtime code', () => {
    const again = compileRegistry();
    expect(again.bytecode).toBe(compiled.bytecode);
    expect(again.deployedBytecode).toBe(compiled.deployedBytecode);
    expect(compiled.bytecode).toMatch(/^0x[0-9a-f]{200,}$/);
  });

  test('the pragma pins the installed solc-js version', () => {
    const pragma = /pragma solidity ([0-9.]+);/.exec(readRegistrySource())?.[1];
    expect(solcVersion().startsWith(`${pragma}+`)).toBe(true);
  });

  test('loadRegistryArtifact returns current code and writes the artifact', () => {
    const loaded = loadRegistryArtifact();
    expect(loaded.bytecode).toBe(compiled.bytecode);
    const onDisk = JSON.parse(readFileSync(REGISTRY_ARTIFACT_PATH, 'utf8')) as { bytecode: string; sourceSha256: string };
    expect(onDisk.bytecode).toBe(compiled.bytecode);
    expect(onDisk.sourceSha256).toBe(compiled.sourceSha256);
  });

  test('verdict constants in Solidity match the TypeScript codes', () => {
    const src = readRegistrySource();
    const constant = (name: string): number => Number(new RegExp(`${name} = (\\d+);`).exec(src)?.[1]);
    expect(constant('VERDICT_ACCEPTED')).toBe(VERDICT_CODES.Accepted);
    expect(constant('VERDICT_ACCEPTED_SAMPLED_AGREE')).toBe(VERDICT_CODES.AcceptedSampledAgree);
    expect(constant('VERDICT_ACCEPTED_DISPUTE_UPHELD')).toBe(VERDICT_CODES.AcceptedDisputeUpheld);
    expect(constant('VERDICT_MAJORITY_OVERRULED')).toBe(VERDICT_CODES.MajorityOverruled);
  });

  test('compiler errors surface as ContractCompileError with solc diagnostics', () => {
    expect(() => compileContract('pragma solidity 0.8.37; contract Broken { function f( }', 'Broken')).toThrow(ContractCompileError);
  });
});
