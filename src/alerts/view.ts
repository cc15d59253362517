import type { PostView } from '../engine/publish.js';
import type { Field } from '../engine/runbook.js';
import type { Alert } from './webhook.js';

/**
 * Text from an alert (labels, annotations: anyone who can write a Prometheus rule or push an
 * alert chooses it) made inert for a chat that reads markdown: every markdown character is
 * escaped, so `**x**`, `[link](…)`, `<@id>` or a code fence show as typed, and an `@` gets a
 * zero-width space after it, so `@everyone` / `@here` cannot mention anyone even where escapes
 * are ignored. (The publisher also posts with mentions disabled; this is the second lock.)
 */
export function inert(text: string, max = 1024): string {
  const flat = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return flat.replace(/[\\`*_~|<>[\]()#:-]/g, '\\$&').replace(/@/g, '@\u200b');
}

/** For text shown without markdown: `@` gets a zero-width space, `<@id>` cannot form. */
const noMention = (text: string): string => text.replace(/@/g, '@\u200b').replace(/</g, '‹');

/** One line: newlines and tabs of a label value become spaces. */
const oneLine = (text: string, max = 256): string => inert(text.replace(/\s+/g, ' ').trim(), max);

/** An http(s) URL safe inside a markdown link, or undefined. */
export function safeUrl(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    const u = new URL(text);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return u.href.replace(/[()<> ]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  } catch {
    return undefined;
  }
}

/** Alertmanager's RFC 3339 time (nanoseconds) as `2026-11-29 22:01:03 UTC`; its zero time as undefined. */
export function when(rfc3339: string): string | undefined {
  const t = Date.parse(rfc3339.replace(/(\.\d{3})\d+/, '$1'));
  if (!Number.isFinite(t) || t <= 0) return undefined;
  return `${new Date(t).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}

export interface GroupView {
  groupKey: string;
  receiver: string;
  alerts: Alert[];
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  /** The host the buttons act on, or why there are none. */
  host: { name: string } | { none: string };
}

const MAX_LISTED = 20;

/** The group's message: red while any alert fires, green once all resolved. */
export function renderGroup(g: GroupView): Omit<PostView, 'actions'> {
  const firing = g.alerts.filter((a) => a.status === 'firing');
  const resolved = g.alerts.length - firing.length;
  const name = g.commonLabels.alertname ?? g.alerts[0]?.labels.alertname ?? 'alert';
  const counts = g.alerts.length === 1 ? '' : ` (${firing.length} firing${resolved > 0 ? `, ${resolved} resolved` : ''})`;
  const title = `${firing.length > 0 ? '🔥 Firing' : '✅ Resolved'}: ${oneLine(name, 150)}${counts}`;

  const lines: string[] = [];
  const one = g.alerts.length === 1 ? g.alerts[0] : undefined;
  const summary = g.commonAnnotations.summary ?? one?.annotations.summary;
  const description = g.commonAnnotations.description ?? one?.annotations.description;
  if (summary) lines.push(`**${oneLine(summary, 300)}**`);
  if (description) lines.push(inert(description, 1500));
  if (g.alerts.length > 1) {
    if (lines.length > 0) lines.push('');
    // Firing first, then by start; each line shows what sets it apart from the group.
    const sorted = [...g.alerts].sort((a, b) => (a.status === b.status ? a.startsAt.localeCompare(b.startsAt) : a.status === 'firing' ? -1 : 1));
    for (const a of sorted.slice(0, MAX_LISTED)) {
      const own = Object.entries(a.labels).filter(([k]) => g.commonLabels[k] === undefined && k !== 'alertname');
      const labelText = own.length > 0 ? own.map(([k, v]) => `${oneLine(k, 64)}=${oneLine(v, 120)}`).join(', ') : oneLine(a.labels.alertname ?? a.fingerprint, 120);
      const own_summary = g.commonAnnotations.summary === undefined && a.annotations.summary ? ` — ${oneLine(a.annotations.summary, 200)}` : '';
      const time = a.status === 'firing' ? `since ${when(a.startsAt) ?? '?'}` : `resolved ${when(a.endsAt) ?? ''}`.trim();
      lines.push(`${a.status === 'firing' ? '🔴' : '🟢'} ${labelText}${own_summary} · ${time}`);
    }
    if (g.alerts.length > MAX_LISTED) lines.push(`… and ${g.alerts.length - MAX_LISTED} more alerts in this group`);
  }

  const fields: Field[] = [];
  const common = Object.entries(g.commonLabels).filter(([k]) => k !== 'alertname');
  if (common.length > 0) fields.push({ name: 'Labels', value: common.map(([k, v]) => `${oneLine(k, 64)}=${oneLine(v, 200)}`).join('\n') });
  const starts = g.alerts.map((a) => a.startsAt).sort();
  const started = when(starts[0] ?? '');
  if (started) fields.push({ name: 'Started', value: started, inline: true });
  if (firing.length === 0) {
    const ends = g.alerts.map((a) => a.endsAt).sort();
    const ended = when(ends[ends.length - 1] ?? '');
    if (ended) fields.push({ name: 'Resolved', value: ended, inline: true });
  }
  const runbookUrl = safeUrl(g.commonAnnotations.runbook_url ?? one?.annotations.runbook_url);
  if (runbookUrl) fields.push({ name: 'Runbook', value: `[runbook_url](${runbookUrl})`, inline: true });
  const source = safeUrl((firing[0] ?? g.alerts[0])?.generatorURL);
  if (source) fields.push({ name: 'Source', value: `[generator URL](${source})`, inline: true });
  fields.push({ name: 'Host', value: 'name' in g.host ? inert(g.host.name) : `no buttons: ${inert(g.host.none, 300)}`, inline: true });

  return {
    title,
    tone: firing.length > 0 ? 'fail' : 'ok',
    description: lines.join('\n'),
    fields,
    ...(source ? { url: source } : {}),
    // Footers show no markdown (escapes would show as typed), but a mention must still not read as one.
    footer: noMention(`Alertmanager group ${g.groupKey.replace(/\s+/g, ' ').slice(0, 300)}${g.receiver ? ` · receiver ${g.receiver.slice(0, 60)}` : ''}`),
  };
}
