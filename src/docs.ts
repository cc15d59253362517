import { writeFileSync } from 'node:fs';
import { generatedDocs } from './generated-docs.js';

/** `npm run docs`: writes the reference docs generated from the code (test/unit/generated-docs.test.ts fails when one is stale). */
for (const { file, content } of generatedDocs()) {
  const target = new URL(`../${file}`, import.meta.url);
  writeFileSync(target, content);
  console.log(`wrote ${file}`);
}
