import path from 'node:path';
import { parseOptions } from '../../bench/options.js';

test('--cpu-profile=DIR asks for the stack processes\' CPU profiles, resolved to an absolute folder', () => {
  expect(parseOptions(['--quick']).cpuProfileDir).toBeUndefined();
  expect(parseOptions(['--', '--quick', '--stack-only', '--cpu-profile=profiles'])).toMatchObject({ mode: 'quick', stackOnly: true, cpuProfileDir: path.resolve('profiles') });
  expect(parseOptions(['--cpu-profile=/tmp/p']).cpuProfileDir).toBe('/tmp/p');
});

test('an empty --cpu-profile= or an unknown argument is refused with the usage', () => {
  expect(() => parseOptions(['--cpu-profile='])).toThrow('needs a folder');
  expect(() => parseOptions(['--cpu-profile'])).toThrow(/unknown argument.*usage/);
});
