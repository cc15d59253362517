import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder, type APIEmbed, type MessageCreateOptions } from 'discord.js';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { redact } from '../engine/redact.js';
import type { Action, RunView, OutputBlock } from '../engine/view.js';
import { PAGE_SIZE, codeBlock, escapeFences, splitPages, type PagedOutput } from './pages.js';

const COLOR: Record<RunView['status'], number> = {
  succeeded: 0x2ecc71,
  failed: 0xe74c3c,
  running: 0x3498db,
  awaiting_confirmation: 0xf39c12,
  cancelled: 0x95a5a6,
  expired: 0x95a5a6,
};

const STYLE = { primary: ButtonStyle.Primary, secondary: ButtonStyle.Secondary, success: ButtonStyle.Success, danger: ButtonStyle.Danger } as const;

/** Discord's limit on the characters of all embeds of one message. */
const EMBED_BUDGET = 6000;
const MAIN_BUDGET = 2000;

export interface RenderedMessage {
  content: string;
  embeds: APIEmbed[];
  components: ActionRowBuilder<ButtonBuilder>[];
  files: AttachmentBuilder[];
  allowedMentions: { parse: [] };
}

/** Discord takes files up to 10 MiB: larger text goes gzipped (logs shrink about tenfold). */
const MAX_PLAIN_ATTACHMENT = 8 * 1024 * 1024;

const gzipped = (text: string): boolean => Buffer.byteLength(text, 'utf8') > MAX_PLAIN_ATTACHMENT;

export const attachmentName = (block: Pick<OutputBlock, 'title' | 'text'>): string => `${fileName(block.title)}${gzipped(block.text) ? '.gz' : ''}`;

function attachmentOf(block: OutputBlock): AttachmentBuilder {
  const data = Buffer.from(block.text, 'utf8');
  // A stream: zlib compresses on libuv's thread pool, so a large output never blocks the event
  // loop (clicks, gate expiry, gateway heartbeats). A stream is read once: render again to resend.
  return new AttachmentBuilder(gzipped(block.text) ? Readable.from([data]).pipe(createGzip()) : data, { name: attachmentName(block) });
}

export const pageId = (outputId: string, page: number): string => `page:${outputId}:${page}`;

export const clip = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** Buttons for actions, five to a row (Discord's row width); the caller keeps within its 5 rows. */
export function buttonRows(actions: readonly Action[]): ActionRowBuilder<ButtonBuilder>[] {
  const rows: ActionRowBuilder<ButtonBuilder>[] = [];
  for (let at = 0; at < actions.length; at += 5) {
    const row = new ActionRowBuilder<ButtonBuilder>();
    for (const a of actions.slice(at, at + 5)) row.addComponents(new ButtonBuilder().setCustomId(a.id).setLabel(clip(a.label, 80)).setStyle(STYLE[a.style]).setDisabled(a.disabled ?? false));
    rows.push(row);
  }
  return rows;
}

function embedLength(e: APIEmbed): number {
  return (e.title?.length ?? 0) + (e.description?.length ?? 0) + (e.footer?.text.length ?? 0) + (e.author?.name.length ?? 0) + (e.fields ?? []).reduce((t, f) => t + f.name.length + f.value.length, 0);
}

export function fileName(title: string): string {
  return `${title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'output'}.txt`;
}

/** A stored output split into pages (escaped first, so that escaping cannot push a page over the limit). */
export function paginate(block: Pick<OutputBlock, 'title' | 'text'>): PagedOutput {
  return { title: block.title, attachment: attachmentName(block), pages: splitPages(escapeFences(block.text), PAGE_SIZE) };
}

/** The embed of page `page` (0-based) of a stored output, and its ◀ n/N ▶ row. */
export function renderPage(block: Pick<OutputBlock, 'outputId' | 'title' | 'text'> | (PagedOutput & { outputId: string }), page: number): { embed: APIEmbed; row: ActionRowBuilder<ButtonBuilder>; pageCount: number } {
  const { title, attachment, pages } = 'pages' in block ? block : paginate(block);
  const n = Math.min(Math.max(page, 0), pages.length - 1);
  const embed = new EmbedBuilder()
    .setTitle(clip(title, 256))
    .setDescription(codeBlock(pages[n] ?? ''))
    .setFooter({ text: `page ${n + 1}/${pages.length} · full output attached as ${attachment}` })
    .setColor(0x2f3136)
    .toJSON();
  const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(pageId(block.outputId, n - 1)).setLabel('◀').setStyle(ButtonStyle.Secondary).setDisabled(n === 0),
    new ButtonBuilder().setCustomId(`pageinfo:${block.outputId}`).setLabel(`${n + 1}/${pages.length}`).setStyle(ButtonStyle.Secondary).setDisabled(true),
    new ButtonBuilder().setCustomId(pageId(block.outputId, n + 1)).setLabel('▶').setStyle(ButtonStyle.Secondary).setDisabled(n === pages.length - 1),
  );
  return { embed, row, pageCount: pages.length };
}

/**
 * A RunView as one Discord message: a status embed, short outputs inline, the first long output
 * paginated (with the full text attached), any further long output attached. Sized to fit every
 * Discord limit by construction.
 */
function gateNote(view: RunView): string {
  if (!view.gate) return '';
  const who = view.gate.fourEyes ? 'a member with the approver role other than the requester' : 'a member with the operator role';
  return `\nNeeds ${who} to confirm · expires <t:${Math.floor(view.gate.expiresAt / 1000)}:R>`;
}

const SNOWFLAKE = /^\d{17,20}$/;

/** A mention shows who it is (Discord resolves the id, whatever name they chose) plus the unique username. */
export function personText(p: { id: string; name: string }): string {
  const name = `\`${p.name.replace(/`/g, "'")}\``;
  return SNOWFLAKE.test(p.id) ? `<@${p.id}> (${name})` : name;
}

/** Mentions render in descriptions, not in titles or footers (which keep the username). */
function peopleNote(view: RunView): string {
  if (!view.people) return '';
  const { requestedBy, decisions } = view.people;
  const decided = decisions.map((d) => ` · ${d.decision === 'confirm' ? 'confirmed' : 'cancelled'} by ${personText(d)}`).join('');
  return `\nRequested by ${personText(requestedBy)}${decided}`;
}

export function renderView(view: RunView): RenderedMessage {
  const main = new EmbedBuilder()
    .setTitle(clip(view.title, 256))
    .setColor(COLOR[view.status])
    .setDescription(clip(view.description || '\u200b', 1200) + gateNote(view) + peopleNote(view))
    .setFooter({ text: clip(view.footer, 200) });
  if (view.gate) main.setTimestamp(view.gate.expiresAt);
  const notes: string[] = [];
  // The status embed stays under MAIN_BUDGET so that a page of output always fits beside it.
  let mainLength = embedLength(main.toJSON());
  const fields = view.fields.map((f) => ({ name: clip(f.name, 256), value: clip(f.value || '—', 1024), inline: f.inline ?? false }));
  const shown = [];
  for (const f of fields) {
    if (shown.length >= 25 || mainLength + f.name.length + f.value.length > MAIN_BUDGET) break;
    shown.push(f);
    mainLength += f.name.length + f.value.length;
  }
  if (shown.length > 0) main.addFields(shown);
  if (shown.length < fields.length) notes.push(`${fields.length - shown.length} more result fields did not fit: ${fields.slice(shown.length).map((f) => f.name).join(', ')}`);
  const embeds: APIEmbed[] = [main.toJSON()];
  const files: AttachmentBuilder[] = [];
  const components: ActionRowBuilder<ButtonBuilder>[] = [];
  let used = embedLength(embeds[0]!);
  let paginated = false;

  for (const block of view.blocks) {
    const escaped = escapeFences(block.text);
    if (escaped.length <= PAGE_SIZE) {
      const inline = new EmbedBuilder().setTitle(clip(block.title, 256)).setDescription(codeBlock(escaped)).setColor(0x2f3136).toJSON();
      if (used + embedLength(inline) <= EMBED_BUDGET && embeds.length < 10) {
        embeds.push(inline);
        used += embedLength(inline);
        continue;
      }
    }
    files.push(attachmentOf(block));
    const page = renderPage(block, 0);
    if (!paginated && used + embedLength(page.embed) <= EMBED_BUDGET) {
      paginated = true;
      embeds.push(page.embed);
      used += embedLength(page.embed);
      components.push(page.row);
    } else {
      notes.push(`📎 ${block.title}: ${block.text.split('\n').length} lines in ${attachmentName(block)}`);
    }
  }

  // The run's own actions on the first row, above any pager.
  components.unshift(...buttonRows(view.actions.slice(0, 5)));
  // content is always set, so that an edit also clears an earlier message's notes.
  return { content: clip(notes.join('\n'), 2000), embeds, components, files, allowedMentions: { parse: [] } };
}

/** A short message for people (errors, refusals). */
export function renderNotice(text: string): Pick<MessageCreateOptions, 'content' | 'allowedMentions'> {
  // Error texts can quote what a host printed (stderr); they pass the same redaction as output.
  return { content: clip(redact(text), 2000), allowedMentions: { parse: [] } };
}
