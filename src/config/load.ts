import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { z } from 'zod';
import { runbooks } from '../../runbooks/index.js';
import { configSchema, envSchema, type Config, type Env } from './schema.js';

/** Thrown for a configuration the bot cannot start with; `problems` name each key and reason. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describe(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((i) => {
    const missing = i.code === 'invalid_type' && /received undefined$/.test(i.message);
    const reason = missing ? `is required (${i.expected})` : i.message;
    return `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${reason}`;
  });
}

export function parseConfig(text: string, source = 'config'): Config {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ConfigError(source, [`not valid YAML: ${(err as Error).message}`]);
  }
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(source, describe(result.error.issues));
  const unknown = unknownRunbooks(result.data, runbooks.map((r) => r.id));
  if (unknown.length > 0) throw new ConfigError(source, unknown);
  return result.data;
}

/**
 * Runbook ids the file names, checked here because the schema cannot know the runbooks (they sit
 * above src/config). A typo must not pass: `fourEyes: [Restart]` would silently drop four-eyes.
 */
export function unknownRunbooks(cfg: Pick<Config, 'gates' | 'alerts'>, known: readonly string[]): string[] {
  const refs = [...cfg.gates.fourEyes.map((id, i) => [`gates.fourEyes.${i}`, id] as const), ...cfg.alerts.map((a, i) => [`alerts.${i}.runbook`, a.runbook] as const)];
  return refs.filter(([, id]) => !known.includes(id)).map(([key, id]) => `${key}: names no runbook "${id}" (known: ${known.join(', ')})`);
}

export function loadConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set OPSBOT_CONFIG to its path`]);
  }
  return parseConfig(text, path);
}

export function loadEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(env);
  if (!result.success) throw new ConfigError('environment', describe(result.error.issues));
  return result.data;
}
