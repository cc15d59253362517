import { AttachmentBuilder, EmbedBuilder, type ActionRowBuilder, type ButtonBuilder, type Client } from 'discord.js';
import type { Logger } from 'pino';
import type { PostView, Publisher } from '../engine/publish.js';
import { redact } from '../engine/redact.js';
import { deliver, postOnce } from './deliver.js';
import { buttonRows, clip } from './render.js';

const TONE = { ok: 0x2ecc71, warn: 0xf39c12, fail: 0xe74c3c, info: 0x3498db } as const;
/** Discord: 6000 characters over all embeds, 4096 per description, 25 fields of 1024, 5 rows of 5 buttons. */
const EMBED_BUDGET = 5800;

/** The post as one Discord message; whatever had to be clipped is attached whole, never lost. */
export function renderPost(view: PostView): { content: string; embeds: ReturnType<EmbedBuilder['toJSON']>[]; components: ActionRowBuilder<ButtonBuilder>[]; files: AttachmentBuilder[]; allowedMentions: { parse: [] } } {
  const description = redact(view.description);
  const embed = new EmbedBuilder()
    .setTitle(clip(redact(view.title), 256))
    .setColor(TONE[view.tone])
    .setDescription(clip(description || '\u200b', 4096));
  if (view.url !== undefined && /^https?:\/\//.test(view.url)) embed.setURL(view.url);
  if (view.footer) embed.setFooter({ text: clip(redact(view.footer), 2048) });
  let used = Math.min(description.length, 4096) + Math.min(view.title.length, 256) + Math.min(view.footer?.length ?? 0, 2048);
  let clipped = description.length > 4096;
  const fields = view.fields.map((f) => ({ name: clip(redact(f.name), 256), value: redact(f.value || '—'), inline: f.inline ?? false }));
  const shown = [];
  for (const f of fields) {
    const value = clip(f.value, 1024);
    if (value !== f.value) clipped = true;
    if (shown.length >= 25 || used + f.name.length + value.length > EMBED_BUDGET) {
      clipped = true;
      break;
    }
    shown.push({ ...f, value });
    used += f.name.length + value.length;
  }
  if (shown.length > 0) embed.addFields(shown);
  const files: AttachmentBuilder[] = [];
  const notes: string[] = [];
  if (view.attachment) files.push(new AttachmentBuilder(Buffer.from(redact(view.attachment.text), 'utf8'), { name: view.attachment.name }));
  else if (clipped) {
    // Nothing lost to a limit: the whole post goes along as text.
    const whole = [view.title, '', description, '', ...fields.map((f) => `## ${f.name}\n${f.value}`)].join('\n');
    files.push(new AttachmentBuilder(Buffer.from(whole, 'utf8'), { name: 'full-text.txt' }));
    notes.push('Some of this did not fit in the message: the full text is attached.');
  }
  const actions = view.actions.slice(0, 25);
  if (actions.length < view.actions.length) notes.push(`${view.actions.length - actions.length} more actions did not fit: ${view.actions.slice(25).map((a) => a.label).join(', ')}`);
  const components = buttonRows(actions);
  return { content: clip(notes.join('\n'), 2000), embeds: [embed.toJSON()], components, files, allowedMentions: { parse: [] } };
}

/** Posts to one channel (the alerts channel), retrying what Discord may take later. */
export class ChannelPublisher implements Publisher {
  constructor(
    private readonly client: Client,
    private readonly channelId: () => string,
    private readonly log: Logger,
  ) {}

  private async channel() {
    const ch = await this.client.channels.fetch(this.channelId());
    if (!ch?.isSendable() || !ch.isTextBased()) throw new Error(`channel ${this.channelId()} cannot take messages`);
    return ch;
  }

  async post(view: PostView, options: { key?: string } = {}): Promise<string> {
    const once = postOnce(options.key);
    const message = await deliver(async () => (await this.channel()).send({ ...renderPost(view), ...once }), { log: this.log, fields: { post: view.title } });
    return `${message.channelId}/${message.id}`;
  }

  async edit(ref: string, view: PostView): Promise<void> {
    const [channelId, messageId] = ref.split('/');
    if (!channelId || !messageId) throw new Error(`not a message reference: ${ref}`);
    await deliver(
      async () => {
        const ch = await this.client.channels.fetch(channelId);
        if (!ch?.isTextBased()) throw new Error(`channel ${channelId} cannot take messages`);
        // attachments: [] drops an earlier full-text file; the new one (if any) replaces it.
        await ch.messages.edit(messageId, { ...renderPost(view), attachments: [] });
      },
      { log: this.log, fields: { edit: ref } },
    );
  }
}
