import { setTimeout as sleep } from 'node:timers/promises';
import type { APIApplicationCommandOption } from 'discord-api-types/v10';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DoubleMessage, InteractionHandle } from '../discord-double/index.js';
import { commandsLogMark, commandsLogSince, containerStartedAt } from '../staging/staging.js';
import { useBot } from './suite.js';
import { buttonsOf, isEphemeral, mutatingCommands, textOf } from './util.js';

/** Every hostile shell payload names this word, so the command log shows if one reached the host. */
const MARK = 'opsbothostile';
const SERVICES = ['adonisjs', 'nextjs', 'reverse-proxy', 'mongo', 'watchtower'];
/** Latin letters and what passes for them: Cyrillic, Greek, full-width, and invisible marks. */
const LOOKALIKES: Record<string, string[]> = {
  a: ['а', 'ɑ', 'ａ'],
  o: ['о', 'ο', 'ｏ'],
  e: ['е', 'ｅ'],
  s: ['ѕ', 'ｓ'],
  j: ['ј', 'ｊ'],
  i: ['і', 'ı', 'ｉ'],
  n: ['ո', 'ｎ'],
  x: ['х', 'ｘ'],
  t: ['т', 'ｔ'],
  m: ['м', 'ｍ'],
  r: ['г', 'ｒ'],
  c: ['с', 'ｃ'],
  p: ['р', 'ｐ'],
  y: ['у', 'ｙ'],
  w: ['ԝ', 'ｗ'],
  h: ['һ', 'ｈ'],
};
const INVISIBLE = ['\u200b', '\u200d', '\u202e', '\u0301', '\ufeff', '\u00a0'];

const shell = fc
  .tuple(
    fc.constantFrom('', ...SERVICES),
    fc.constantFrom(';', '&&', '||', '|', '&', '\n', '\r\n', '`', '$(', '${', '>', '<', "'", '"', '\\', '$IFS', '*', '?', '~', '#', '%0a', '\u2028'),
    fc.constantFrom(`touch /tmp/${MARK}`, `docker rm -f ${MARK}`, `rm -rf /${MARK}`, `${MARK}`, `curl ${MARK}.example`),
  )
  .map(([base, meta, cmd]) => `${base}${meta}${cmd}${meta === '$(' ? ')' : meta === '${' ? '}' : meta === '`' ? '`' : ''}`);

const lookalike = fc
  .constantFrom(...SERVICES)
  .chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: 0, max: s.length - 1 }), fc.nat(), fc.boolean()))
  .map(([s, at, pick, invisible]) => {
    const ch = s[at]!;
    const swaps = LOOKALIKES[ch];
    if (invisible || !swaps) return `${s.slice(0, at)}${INVISIBLE[pick % INVISIBLE.length]!}${s.slice(at)}`;
    return `${s.slice(0, at)}${swaps[pick % swaps.length]!}${s.slice(at + 1)}`;
  });

const hostileString = fc.oneof(
  shell,
  lookalike,
  fc.constantFrom(...SERVICES).map((s) => `${s}\0${MARK}`),
  fc.constantFrom('', ' ', '\t', '\0', '\n', '--help', '-f /etc/passwd', `--project-directory=/tmp/${MARK}`, '../../etc/passwd', '.', '..', '/', '-'),
  fc.integer({ min: 2001, max: 6000 }).map((n) => `${MARK}${'x'.repeat(n)}`),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map((s) => `${MARK}${s}`),
);

/** Integers outside what the option allows, or (without bounds) negative and huge. */
function hostileInteger(def: Record<string, unknown>): fc.Arbitrary<number> {
  const min = typeof def.min_value === 'number' ? def.min_value : undefined;
  const max = typeof def.max_value === 'number' ? def.max_value : undefined;
  const below = min !== undefined ? fc.integer({ min: Number.MIN_SAFE_INTEGER, max: min - 1 }) : fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 });
  const above = max !== undefined ? fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER }) : fc.integer({ min: 2 ** 31, max: Number.MAX_SAFE_INTEGER });
  const edges = [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, -1, 0, 2 ** 31, 2 ** 53 - 1].filter((n) => (min !== undefined && n < min) || (max !== undefined && n > max) || (min === undefined && max === undefined));
  return fc.oneof(below, above, fc.constantFrom(...edges));
}

interface OptionSpec {
  /** The command, with its subcommand path: `runbook run`. */
  command: string;
  option: APIApplicationCommandOption;
  /** Valid values for the command's other required options. */
  base: Record<string, string | number | boolean>;
}

interface Case {
  spec: OptionSpec;
  value: string | number;
}

/** Option types a member can type text or numbers into; the others (boolean, user, channel, role…) Discord resolves itself. */
const TYPED = new Set([3, 4, 10]);

/** A valid value for a required option that is not the one under test. */
function validValue(o: APIApplicationCommandOption): string | number | boolean {
  const def = o as unknown as Record<string, unknown>;
  const choices = Array.isArray(def.choices) ? (def.choices as { value: string | number }[]) : [];
  if (choices[0]) return choices[0].value;
  if (o.type === 3) return o.name === 'service' ? 'adonisjs' : 'x';
  if (o.type === 4 || o.type === 10) return typeof def.min_value === 'number' ? def.min_value : 1;
  if (o.type === 5) return false;
  if (o.type === 6 || o.type === 9) return 'viewer';
  if (o.type === 7) return 'alerts';
  return 'viewer';
}

/** Every typed leaf option of a command, its subcommands and groups, with the path to send it by. */
function leaves(path: string, options: readonly APIApplicationCommandOption[]): OptionSpec[] {
  const subs = options.filter((o) => o.type === 1 || o.type === 2);
  if (subs.length > 0) return subs.flatMap((sub) => leaves(`${path} ${sub.name}`, ('options' in sub ? sub.options ?? [] : []) as APIApplicationCommandOption[]));
  const base: Record<string, string | number | boolean> = {};
  for (const o of options) if ('required' in o && o.required === true) base[o.name] = validValue(o);
  return options.filter((o) => TYPED.has(o.type)).map((option) => ({ command: path, option, base }));
}

// "is already running …": two values for the same locked target in one batch; the second is
// refused by the per-target lock, which runs nothing either.
const CLEAR_REFUSAL = /Invalid input|must be|Nothing was run|has no compose service|There is no|not a|unknown|only|allowed|is already running .* Wait for it to finish/i;

/** Waits until the interaction has its final answer: a refusal to the asker, or a finished reply. */
async function settle(handle: InteractionHandle): Promise<{ kind: 'refused' | 'answered'; message: DoubleMessage }> {
  const ack = await handle.acknowledged({ timeoutMs: 15_000 });
  if (ack.type === 4) return { kind: 'refused', message: await handle.waitForReply() };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const followup = handle.followups()[0];
    if (followup) return { kind: 'refused', message: followup };
    const reply = handle.message();
    if (reply && ((reply.flags ?? 0) & 128) === 0 && (reply.embeds.length > 0 || (reply.content ?? '') !== '')) return { kind: 'answered', message: reply };
    if (Date.now() > deadline) throw new Error(`no final answer: ${handle.describe()}`);
    await sleep(50);
  }
}

describe('property: hostile values in every option of every command are refused before the host', () => {
  const h = useBot();

  it('≥ 200 generated values: each answered (refused to the asker, or a read-only result), nothing hostile or mutating runs', async () => {
    const before = { adonisjs: await containerStartedAt('adonisjs'), nextjs: await containerStartedAt('nextjs') };
    // The options come from the commands as the bot registered them (subcommands included): a new
    // command or option is covered without editing this test.
    const specs: OptionSpec[] = h.double.commands('guild').flatMap((cmd) => leaves(cmd.name, (cmd.options ?? []) as APIApplicationCommandOption[]));
    expect(specs.map((s) => `${s.command}.${s.option.name}`)).toEqual(
      expect.arrayContaining(['restart.service', 'logs.service', 'logs.lines', 'logs.since', 'top.service', 'audit.count', 'audit.run']),
    );

    const caseArb: fc.Arbitrary<Case> = fc.constantFrom(...specs).chain((spec) =>
      (spec.option.type === 3 ? hostileString : hostileInteger(spec.option as unknown as Record<string, unknown>)).map((value) => ({ spec, value })),
    );
    const mark = await commandsLogMark();
    const seen = new Map<string, number>();
    let total = 0;
    const BATCH = 10;
    await fc.assert(
      fc.asyncProperty(fc.array(caseArb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        await Promise.all(
          batch.map(async ({ spec, value }) => {
            const label = `/${spec.command} ${spec.option.name}=${JSON.stringify(value).slice(0, 80)}`;
            const handle = h.double.sendCommand({
              name: spec.command,
              options: { ...spec.base, [spec.option.name]: value },
              member: 'operator',
              channel: 'alerts',
              unchecked: true,
            });
            const { kind, message } = await settle(handle);
            const text = textOf(message);
            if (kind === 'refused') {
              expect(isEphemeral(message), label).toBe(true);
              expect(text, label).toMatch(CLEAR_REFUSAL);
            }
            // Whatever happened, no hostile value ever gets as far as a confirmation.
            expect(buttonsOf(message).map((b) => b.label), label).not.toContain('Confirm');
            if (kind === 'answered') expect(spec.command, `${label} ran`).not.toMatch(/^restart\b/);
            seen.set(`${spec.command}.${spec.option.name}`, (seen.get(`${spec.command}.${spec.option.name}`) ?? 0) + 1);
            total += 1;
          }),
        );
      }),
      { numRuns: Math.max(22, Math.ceil((specs.length * 15) / BATCH)), endOnFailure: true, seed: Number(process.env.OPSBOT_FC_SEED ?? Date.now() % 2 ** 31) },
    );
    expect(total).toBeGreaterThanOrEqual(200);
    for (const s of specs) expect(seen.get(`${s.command}.${s.option.name}`) ?? 0, `${s.command}.${s.option.name}`).toBeGreaterThanOrEqual(5);

    // The host side: nothing mutating, nothing carrying the hostile text, nothing non-ASCII, nothing huge.
    const lines = await commandsLogSince(mark);
    expect(mutatingCommands(lines)).toEqual([]);
    // deploy asks the registry, read-only, whether a well-formed version exists before any gate: a
    // generated value that happens to be a valid tag (say "opsbothostileX") is legitimately asked about.
    const registryCheck = /^(cd \S+ && )?(exec )?docker manifest inspect (--insecure )?[a-z0-9._/:-]+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
    expect(lines.filter((l) => !registryCheck.test(l) && (l.includes(MARK) || l.includes('\0') || /[^\x20-\x7e\t]/.test(l) || l.length > 1000))).toEqual([]);
    expect(await containerStartedAt('adonisjs')).toBe(before.adonisjs);
    expect(await containerStartedAt('nextjs')).toBe(before.nextjs);
  }, 240_000);
});
