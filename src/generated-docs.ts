import { buildCommands } from '../commands/index.js';
import { commandsMarkdown } from '../commands/docs.js';
import { runbooks } from '../runbooks/index.js';
import { configJsonSchema, configMarkdown } from './config/docs.js';
import { runbooksMarkdown } from './engine/catalog.js';

/**
 * Every file `npm run docs` writes, by path from the repository root, and what it must contain:
 * all come from the definitions the bot runs (runbooks, commands, the config schema), and
 * test/unit/generated-docs.test.ts fails when a committed one differs.
 */
export function generatedDocs(): { file: string; content: string }[] {
  return [
    { file: 'docs/runbooks.md', content: runbooksMarkdown(runbooks) },
    // One host: the `host` option appears only with several, which the page explains in words.
    { file: 'docs/commands.md', content: commandsMarkdown(buildCommands(['production']), runbooks) },
    { file: 'docs/configuration.md', content: configMarkdown() },
    { file: 'opsbot.schema.json', content: `${JSON.stringify(configJsonSchema(), null, 2)}\n` },
  ];
}
