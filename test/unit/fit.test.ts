import { SlashCommandBuilder } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { COMMAND_MAX_CHARS, commandChars, fitCommandSize } from '../../commands/fit.js';

const build = (subs: number) => {
  const b = new SlashCommandBuilder().setName('runbook').setDescription('Run a runbook');
  for (let i = 0; i < subs; i++) {
    b.addSubcommand((s) =>
      s
        .setName(`runbook-${i}`)
        .setDescription(`Runbook number ${i} does a great many things, each of them described here at length, until the limit`.slice(0, 100))
        .addStringOption((o) => o.setName('service').setDescription('The compose service this runbook acts on, autocompleted from the host it runs on'.slice(0, 100)))
        .addIntegerOption((o) => o.setName('lines').setDescription('How many log lines to read from each service before deciding anything (10–1000)')),
    );
  }
  return b.toJSON();
};

describe('fitCommandSize', () => {
  it('leaves a command that fits as it is', () => {
    const data = build(3);
    const before = JSON.stringify(data);
    fitCommandSize(data);
    expect(JSON.stringify(data)).toBe(before);
  });

  it("shortens subcommand descriptions, then options', at word boundaries, until 25 subcommands fit Discord's 4000", () => {
    const data = build(25);
    expect(commandChars(data as never)).toBeGreaterThan(COMMAND_MAX_CHARS);
    fitCommandSize(data);
    expect(commandChars(data as never)).toBeLessThanOrEqual(COMMAND_MAX_CHARS);
    const sub = (data.options as unknown as { description: string; options: { description: string }[] }[])[0]!;
    expect(sub.description).toMatch(/^Runbook number 0 does .*[a-z]…$/);
    expect(sub.description.length).toBeLessThan(60);
  });

  it('throws when even short descriptions cannot fit', () => {
    expect(() => fitCommandSize(build(25), 1000)).toThrow(/even with short descriptions/);
  });
});
