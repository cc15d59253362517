import { writeFileSync } from 'node:fs';
import { runbooks } from '../runbooks/index.js';
import { runbooksMarkdown } from './engine/catalog.js';

/** `npm run docs`: writes docs/runbooks.md from the runbook definitions (test/unit/runbook-docs.test.ts fails when it is stale). */
const target = new URL('../docs/runbooks.md', import.meta.url);
writeFileSync(target, runbooksMarkdown(runbooks));
console.log(`wrote ${target.pathname} (${runbooks.length} runbooks)`);
