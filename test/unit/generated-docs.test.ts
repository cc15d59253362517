import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCommands } from '../../commands/index.js';
import { commandsMarkdown } from '../../commands/docs.js';
import { runbooks } from '../../runbooks/index.js';
import { configJsonSchema, configMarkdown, undocumentedConfigKeys } from '../../src/config/docs.js';
import { parseConfig } from '../../src/config/load.js';
import { generatedDocs } from '../../src/generated-docs.js';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

describe('reference docs generated from the code', () => {
  for (const { file, content } of generatedDocs()) {
    it(`${file} is what \`npm run docs\` makes (run it after changing the schema, a command or a runbook)`, () => {
      expect(read(file), `${file} is stale: run \`npm run docs\` and commit it`).toBe(content);
    });
  }

  it('every configuration key and environment variable has a description in the schema', () => {
    expect(undocumentedConfigKeys(), 'add .describe() to these keys in src/config/schema.ts').toEqual([]);
  });

  it('documents nested and transport-specific keys with their defaults', () => {
    const md = configMarkdown();
    expect(md).toMatch(/\| `gates\.expiryMinutes` \| number \| `5` \|/);
    expect(md).toMatch(/\| `hosts\[\]\.hostKeyFingerprint` \| string \| \*\*required\*\* \| .*only for transport: ssh/);
    expect(md).toMatch(/\| `hosts\[\]\.healthChecks\.<name>\.url` \|/);
    expect(md).toMatch(/\| `DISCORD_TOKEN` \| string \| \*\*required\*\* \|/);
  });

  it('the JSON Schema uses only standard formats and describes the example file', () => {
    const text = JSON.stringify(configJsonSchema());
    expect(text).not.toMatch(/"format":"(?!uri")/);
    expect(configJsonSchema().properties?.discord?.description).toMatch(/Discord/);
    const example = read('opsbot.example.yaml');
    expect(example.split('\n')[0]).toBe('# yaml-language-server: $schema=./opsbot.schema.json');
    expect(() => parseConfig(example, 'opsbot.example.yaml')).not.toThrow();
  });

  it('lists every command with its least role and the runbook it runs, and every /runbook subcommand', () => {
    const md = commandsMarkdown(buildCommands(['production']), runbooks);
    expect(md).toContain('| [`/ps`](#ps) | viewer |');
    expect(md).toContain('| [`/restart`](#restart) | operator |');
    expect(md).toMatch(/## \/restart[\s\S]*\*\*Runs:\*\* the runbook \[`restart`\]\(runbooks\.md#restart\)/);
    expect(md).toMatch(/\| `service` \| text, required \| .*suggested from the host's compose services/);
    for (const rb of runbooks) expect(md).toContain(`### /runbook ${rb.id}\n`);
  });
});
