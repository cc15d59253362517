import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';

/** Discord refuses a command whose names, descriptions, choices and values add up to more than this. */
export const COMMAND_MAX_CHARS = 4000;

interface Sized {
  name: string;
  description?: string;
  choices?: { name: string; value: string | number }[];
  options?: Sized[];
}

export function commandChars(o: Sized): number {
  return o.name.length + (o.description?.length ?? 0) + (o.choices ?? []).reduce((t, c) => t + c.name.length + String(c.value).length, 0) + (o.options ?? []).reduce((t, x) => t + commandChars(x), 0);
}

/** Cuts at the last word boundary before `max`, marked with an ellipsis. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const at = cut.lastIndexOf(' ');
  return `${(at > max / 2 ? cut.slice(0, at) : cut).replace(/[\s,;:.—-]+$/, '')}…`;
}

/**
 * Shortens the descriptions of a command with subcommands until the whole fits Discord's size
 * limit: first the subcommands' own (their full text stays in `/runbook list` and `help`), then
 * their options'. Every runbook adds a subcommand, so the budget is shared, not fixed per runbook.
 * Throws if even the shortest descriptions do not fit.
 */
export function fitCommandSize(data: RESTPostAPIChatInputApplicationCommandsJSONBody, limit = COMMAND_MAX_CHARS): void {
  const root = data as unknown as Sized;
  const subs = root.options ?? [];
  const originals = subs.map((s) => ({ s, description: s.description ?? '', options: (s.options ?? []).map((o) => ({ o, description: o.description ?? '' })) }));
  for (let max = 100; commandChars(root) > limit; max -= 5) {
    if (max < 20) throw new Error(`/${root.name} is ${commandChars(root)} characters even with short descriptions; Discord allows ${limit}`);
    for (const { s, description, options } of originals) {
      s.description = shorten(description, max);
      // Options' descriptions give way only once the subcommands' are down to 60.
      if (max < 60) for (const { o, description: d } of options) o.description = shorten(d, max);
    }
  }
}
