import path from 'node:path';
import { parseOptions, parseRoundsArg } from '../../bench/options.js';

test('--cpu-profile=DIR asks for the stack processes\' CPU profiles, resolved to an absolute folder', () => {
  expect(parseOptions(['--quick']).cpuProfileDir).toBeUndefined();
  expect(parseOptions(['--', '--quick', '--stack-only', '--cpu-profile=profiles'])).toMatchObject({ mode: 'quick', stackOnly: true, cpuProfileDir: path.resolve('profiles') });
  expect(parseOptions(['--cpu-profile=/tmp/p']).cpuProfileDir).toBe('/tmp/p');
});

test('an empty --cpu-profile= or an unknown argument is refused with the usage', () => {
  expect(() => parseOptions(['--cpu-profile='])).toThrow('needs a folder');
  expect(() => parseOptions(['--cpu-profile'])).toThrow(/unknown argument.*usage/);
});

test('--rounds=N of bench:rounds and bench:floor: a positive integer, 4 by default, anything else refused with the usage', () => {
  expect(parseRoundsArg([], 'bench:floor')).toBe(4);
  expect(parseRoundsArg(['--', '--rounds=7'], 'bench:floor')).toBe(7);
  expect(() => parseRoundsArg(['--rounds=0'], 'bench:floor')).toThrow('positive integer');
  expect(() => parseRoundsArg(['--rounds=2.5'], 'bench:rounds')).toThrow('positive integer');
  expect(() => parseRoundsArg(['--quick'], 'bench:floor')).toThrow('usage: npm run bench:floor');
});
