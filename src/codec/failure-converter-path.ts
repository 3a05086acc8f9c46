import path from 'node:path';
import { projectRoot } from '../shared/paths.js';

/** The module exporting the failure converter that encodes failure messages and stacks (failure-converter.cjs). */
export const ENCODED_FAILURES_CONVERTER_PATH = path.join(projectRoot, 'src', 'codec', 'failure-converter.cjs');
