/**
 * Runs in flight survive workflow changes: histories recorded with the workflow code before tolerant sampling
 * (commit 8e99490: one unsampled request, one sampled at p = 1 with the exact check) replay without
 * non-determinism on today's code. Their payloads are encrypted with the fixture's throwaway codec key.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { loadOrCreateCodecKey } from '../../src/codec/codec-key.js';
import { WORKFLOWS_PATH } from '../../src/coordinator/coordinator.js';
import { coordinatorDataConverter } from '../../src/coordinator/data-converter.js';
import { projectRoot } from '../../src/shared/paths.js';

const dir = path.join(projectRoot, 'test', 'fixtures', 'histories');
/** A fixture's codec key: `<prefix>.codec-key` for a family of fixtures recorded together, else `codec-key`. */
function keyFor(name: string) {
  const own = readdirSync(dir).find((file) => file.endsWith('.codec-key') && name.startsWith(file.slice(0, -'.codec-key'.length)));
  const text = readFileSync(path.join(dir, own ?? 'codec-key'), 'utf8').trim();
  return loadOrCreateCodecKey('/nonexistent', { PARALLELIX_CODEC_KEY: text });
}
/**
 * release-on-every-exit-*: recorded by test/pipeline/holds.test.ts (PARALLELIX_RECORD_HISTORIES) on the code that
 * added the RELEASE_ON_EVERY_EXIT patch: cancel and terminate at each step, the patched branches included.
 */
const RECORDED = readdirSync(dir)
  .filter((file) => file.startsWith('release-on-every-exit-') && file.endsWith('.json'))
  .map((file) => file.slice(0, -'.json'.length))
  .sort();

test('the patched branches have recorded histories', () => {
  expect(RECORDED.length).toBeGreaterThanOrEqual(10);
});

test.each(['pre-tolerant-unsampled', 'pre-tolerant-sampled-exact', ...RECORDED])('history %s replays on the current workflow code', async (name) => {
  const key = keyFor(name);
  // Written with JSON.stringify(await handle.fetchHistory()): protobufjs's object form (camelCase, enums by name).
  const history = temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as object);
  const types = (history.events ?? []).map((e) => e.eventType);
  expect(types.length).toBeGreaterThan(name.startsWith('release-on-every-exit-') ? 3 : 10);
  await expect(
    Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH, dataConverter: coordinatorDataConverter(key) }, history),
  ).resolves.toBeUndefined();
}, 120_000);
