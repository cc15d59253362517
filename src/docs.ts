import { readFileSync, writeFileSync } from 'node:fs';
import { runbookIndexFile, runbookIndexSource } from './runbook-index.js';

// First the runbook index (every file in runbooks/ that exports a runbook), then the docs that read it.
const index = await runbookIndexSource();
if (readFileSync(runbookIndexFile, 'utf8') !== index) {
  writeFileSync(runbookIndexFile, index);
  console.log('wrote runbooks/index.ts');
}
const { generatedDocs } = await import('./generated-docs.js');

/** `npm run docs`: writes the reference docs generated from the code (test/unit/generated-docs.test.ts fails when one is stale). */
for (const { file, content } of generatedDocs()) {
  const target = new URL(`../${file}`, import.meta.url);
  writeFileSync(target, content);
  console.log(`wrote ${file}`);
}
