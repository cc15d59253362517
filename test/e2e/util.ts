import type { DiscordDouble, DoubleMessage, InteractionHandle } from '../discord-double/index.js';

interface ButtonLike {
  type: number;
  custom_id?: string;
  label?: string;
  disabled?: boolean;
}

/** Everything a person reads in a message: content, embed titles, descriptions, fields, footers. */
export function textOf(m: DoubleMessage): string {
  return [
    m.content ?? '',
    ...(m.embeds ?? []).flatMap((e) => [e.title ?? '', e.description ?? '', ...(e.fields ?? []).flatMap((f) => [f.name, f.value]), e.footer?.text ?? '']),
  ].join('\n');
}

export function buttonsOf(m: DoubleMessage): ButtonLike[] {
  return (m.components ?? []).flatMap((row) => ('components' in row ? (row.components as ButtonLike[]) : [])).filter((c) => c.type === 2);
}

export function buttonId(m: DoubleMessage, label: string | RegExp): string {
  const b = buttonsOf(m).find((x) => (typeof label === 'string' ? x.label === label : label.test(x.label ?? '')));
  if (!b?.custom_id) throw new Error(`no button ${String(label)} in message: ${JSON.stringify(buttonsOf(m).map((x) => x.label))}`);
  return b.custom_id;
}

export const isEphemeral = (m: DoubleMessage): boolean => ((m.flags ?? 0) & 64) === 64;

/** Host command lines that changed something (restart/stop/up/kill/rm…), from the staging command log. */
export function mutatingCommands(lines: string[]): string[] {
  // The transport runs every command as `[cd <dir> &&] exec <argv…>`: that shell `exec` is no `docker exec`.
  return lines.filter((l) => {
    const cmd = l.replace(/^(cd \S+ && )?exec /, '');
    // Reads that name a mutating word: certbot's listing and the backups folder, read in a container.
    if (/ certbot certificates$| ls -l --full-time \S+$/.test(cmd)) return false;
    return /\b(restart|stop|start|up|down|kill|rm|pull|exec|certbot|mongorestore)\b/.test(cmd) && !/config --services|\bversion\b/.test(cmd);
  });
}

/**
 * What the asker reads of an interaction: its reply, or the ephemeral follow-up that a user error
 * becomes after the deferral (the public "thinking…" reply is removed then).
 */
export function finalAnswer(handle: InteractionHandle, timeoutMs = 30_000): Promise<DoubleMessage> {
  const reply = handle.waitForReply(undefined, { timeoutMs });
  const followup = handle.waitForFollowup(undefined, { timeoutMs });
  reply.catch(() => undefined);
  followup.catch(() => undefined);
  return Promise.any([reply, followup]);
}

/** Sends a slash command in #alerts and resolves with what the asker reads. */
export function ask(h: { double: DiscordDouble }, name: string, options: Record<string, string | number> = {}, member: 'viewer' | 'operator' = 'viewer'): Promise<DoubleMessage> {
  return finalAnswer(h.double.sendCommand({ name, options, member, channel: 'alerts' }));
}
