#!/usr/bin/env node
// The CLI runs from the TypeScript sources through tsx's loader, so the bin never goes stale against a build.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
