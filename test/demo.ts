/**
 * `npm run demo:discord`: the real bot, wired to the local Discord double and the staging host over SSH,
 * driven from the terminal. Discord itself is not needed, so this runs on a machine without it.
 */
import { createInterface } from 'node:readline';
import type { DoubleMessage, InteractionHandle } from './discord-double/index.js';
import { startHarness, type Harness } from './e2e/harness.js';
import { buttonsOf } from './e2e/util.js';

const HELP = `Type a slash command as in Discord, e.g.
  /ps   /stats   /logs adonisjs lines:50   /top mongo   /restart adonisjs   /audit count:5
and then:
  click <button label>     press a button of the last message (Confirm, Cancel, ▶, ◀, Logs, Roll back)
  as <member>              act as viewer, operator, operator2, approver or norole (now: operator)
  in <channel>             type in alerts or general (now: alerts)
  help, quit`;

function show(m: DoubleMessage): void {
  const out: string[] = [];
  if ((m.flags ?? 0) & 64) out.push('(only you can see this)');
  if (m.content) out.push(m.content);
  for (const e of m.embeds ?? []) {
    if (e.title) out.push(`== ${e.title} ==`);
    // A terminal shows no mentions: "<@id> (`name`)" reads as @name.
    if (e.description) out.push(e.description.replace(/<@\d+> \(`([^`]+)`\)/g, '@$1'));
    for (const f of e.fields ?? []) out.push(`  ${f.name}: ${f.value.replace(/\n/g, ' · ')}`);
    if (e.footer?.text) out.push(`  -- ${e.footer.text}`);
  }
  for (const a of m.attachments ?? []) out.push(`  [attachment ${a.filename}, ${a.size} bytes]`);
  const buttons = buttonsOf(m).map((b) => (b.disabled ? `(${b.label})` : `[${b.label}]`));
  if (buttons.length > 0) out.push(buttons.join(' '));
  process.stdout.write(`${out.join('\n')}\n\n`);
}

/** Longest a command may take to show its result (a restart waits for the service to come back). */
const ANSWER_TIMEOUT_MS = 120_000;

async function settle(handle: InteractionHandle): Promise<DoubleMessage | undefined> {
  const ack = await handle.acknowledged({ timeoutMs: 5000 }).catch(() => undefined);
  if (!ack) {
    process.stdout.write('(the bot did not answer within 5 s)\n');
    return undefined;
  }
  const opts = { timeoutMs: ANSWER_TIMEOUT_MS };
  // A click acknowledged with an update (type 7) or a deferred update (type 6) answers by editing the
  // clicked message: it has no reply of its own, so waiting for one waited for nothing (the demo hung
  // after Confirm). Any answer may also come as a follow-up.
  const answer = ack.type === 6 || ack.type === 7 ? handle.waitForUpdate(undefined, opts) : handle.waitForReply(undefined, opts);
  let last: DoubleMessage | undefined = await Promise.race([answer, handle.waitForFollowup(undefined, opts)]).catch(() => handle.followups().at(-1));
  // Then until it stops changing, within a bound: a message the bot keeps editing must not hold the prompt.
  const deadline = Date.now() + 30_000;
  for (let stable = 0; stable < 3 && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 300));
    const now = handle.message() ?? handle.followups().at(-1);
    if (JSON.stringify(now) === JSON.stringify(last)) stable++;
    else stable = 0;
    last = now ?? last;
  }
  for (const f of handle.followups()) if (f.id !== last?.id) show(f);
  return last;
}

function parse(line: string): { name: string; options: Record<string, string | number> } {
  const [head, ...rest] = line.slice(1).trim().split(/\s+/);
  const options: Record<string, string | number> = {};
  for (const part of rest) {
    const [k, v] = part.includes(':') ? [part.slice(0, part.indexOf(':')), part.slice(part.indexOf(':') + 1)] : ['service', part];
    options[k] = /^\d+$/.test(v) ? Number(v) : v;
  }
  return { name: head ?? '', options };
}

async function main(): Promise<void> {
  process.stdout.write('Starting the bot against the Discord double and the staging host…\n');
  const h: Harness = await startHarness();
  let member = 'operator';
  let channel = 'alerts';
  let lastMessage: DoubleMessage | undefined;
  process.stdout.write(`Ready: ${h.double.commands().map((c) => `/${c.name}`).join(' ')} registered in #alerts.\n${HELP}\n\n`);
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    const prompt = () => process.stdout.write(`${member} in #${channel}> `);
    prompt();
    // Iterating buffers the lines, so a piped script works as well as a person typing.
    for await (const raw of rl) {
      const line = raw.trim();
      if (!process.stdin.isTTY) process.stdout.write(`${line}\n`);
      if (line === '') {
        prompt();
        continue;
      }
      if (line === 'quit' || line === 'exit') break;
      if (line === 'help') process.stdout.write(`${HELP}\n`);
      else if (line.startsWith('as ')) member = line.slice(3).trim();
      else if (line.startsWith('in ')) channel = line.slice(3).trim().replace(/^#/, '');
      else if (line.startsWith('click ')) {
        const label = line.slice(6).trim().toLowerCase();
        const target = lastMessage ? buttonsOf(h.double.message(lastMessage.id) ?? lastMessage).find((b) => b.label?.toLowerCase().startsWith(label)) : undefined;
        if (!lastMessage || !target?.custom_id) {
          process.stdout.write('No such button on the last message.\n');
          continue;
        }
        try {
          const handle = h.double.clickButton({ message: h.double.message(lastMessage.id) ?? lastMessage, customId: target.custom_id, member });
          const m = await settle(handle);
          const current = h.double.message(lastMessage.id);
          if (m && m.id !== lastMessage.id) {
            show(m);
            if (((m.flags ?? 0) & 64) === 0) lastMessage = m;
          } else if (current) show(current);
        } catch (err) {
          process.stdout.write(`${(err as Error).message.split('\n')[0]}\n`);
        }
      } else if (line.startsWith('/')) {
        try {
          const { name, options } = parse(line);
          const m = await settle(h.double.sendCommand({ name, options, member, channel }));
          if (m) {
            show(m);
            if (((m.flags ?? 0) & 64) === 0) lastMessage = m;
          }
        } catch (err) {
          process.stdout.write(`${(err as Error).message.split('\n')[0]}\n`);
        }
      } else process.stdout.write('Commands start with /; type help.\n');
      prompt();
    }
  } finally {
    rl.close();
    await h.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
