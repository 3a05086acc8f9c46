/**
 * Runs in flight survive workflow changes: histories recorded with the workflow code before tolerant sampling
 * (commit 8e99490: one unsampled request, one sampled at p = 1 with the exact check) replay without
 * non-determinism on today's code. Their payloads are encrypted with the fixture's throwaway codec key.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { loadOrCreateCodecKey } from '../../src/codec/codec-key.js';
import { WORKFLOWS_PATH } from '../../src/coordinator/coordinator.js';
import { coordinatorDataConverter } from '../../src/coordinator/data-converter.js';
import { projectRoot } from '../../src/shared/paths.js';

const dir = path.join(projectRoot, 'test', 'fixtures', 'histories');
const key = loadOrCreateCodecKey('/nonexistent', { PARALLELIX_CODEC_KEY: readFileSync(path.join(dir, 'codec-key'), 'utf8').trim() });

// pre-signed-health: a node health run from before signed probes (unsigned probe(), no patch marker);
// signed-health: one with the signed-health-probe patch (challenge per probe, signature checked by the coordinator).
test.each(['pre-tolerant-unsampled', 'pre-tolerant-sampled-exact', 'pre-signed-health', 'signed-health'])('history %s replays on the current workflow code', async (name) => {
  // Written with JSON.stringify(await handle.fetchHistory()): protobufjs's object form (camelCase, enums by name).
  const history = temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as object);
  const types = (history.events ?? []).map((e) => e.eventType);
  expect(types.length).toBeGreaterThan(10);
  await expect(
    Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH, dataConverter: coordinatorDataConverter(key) }, history),
  ).resolves.toBeUndefined();
}, 120_000);
