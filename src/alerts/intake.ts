import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ALERT_PLACEHOLDER, type Config } from '../config/schema.js';
import { UserError } from '../engine/errors.js';
import type { PostView, Publisher } from '../engine/publish.js';
import type { Action } from '../engine/view.js';
import type { AlertStore, StoredOffer } from './store.js';
import { inert, renderGroup } from './view.js';
import type { Alert, Webhook } from './webhook.js';

/** The runbook offered for every alert when it exists. */
export const INVESTIGATION_RUNBOOK = 'alert-investigation';

export interface IntakeDeps {
  engine: { offer(req: { runbook: string; host: string; params: Record<string, unknown>; label: string; origin?: string }): Action };
  publisher: Publisher;
  store: AlertStore;
  config: Pick<Config, 'alerts' | 'hosts' | 'defaultHost'>;
  runbookIds: ReadonlySet<string>;
  log: Logger;
}

type Alerts = Record<string, Alert>;

/**
 * The group's alerts after one webhook. A complete webhook (nothing truncated) replaces the set;
 * a truncated one only adds to it. An alert already seen resolved does not fire again from a
 * webhook with the same start: that is a delayed resend of the old state, not news.
 */
export function mergeAlerts(prev: Alerts, hook: Webhook): Alerts {
  const next: Alerts = hook.truncatedAlerts > 0 ? { ...prev } : {};
  for (const a of hook.alerts) {
    const old = prev[a.fingerprint];
    next[a.fingerprint] = old?.status === 'resolved' && a.status === 'firing' && old.startsAt === a.startsAt ? old : a;
  }
  return next;
}

const groupStatus = (alerts: Alerts): 'firing' | 'resolved' => (Object.values(alerts).some((a) => a.status === 'firing') ? 'firing' : 'resolved');

/** `{{ $labels.x }}` / `{{ $annotations.x }}` filled from the alert; undefined names the missing one. */
export function fillTemplate(template: string, alert: Alert): { value: string } | { missing: string } {
  let missing: string | undefined;
  const value = template.replace(ALERT_PLACEHOLDER, (_m, kind: 'labels' | 'annotations', name: string) => {
    const v = alert[kind][name];
    if (v === undefined) missing ??= `$${kind}.${name}`;
    return v ?? '';
  });
  return missing === undefined ? { value } : { missing };
}

/**
 * Which configured host an alert's buttons act on: a `host` label naming a configured host; else
 * an `instance` label whose host part is a configured host's name or address; else `defaultHost`;
 * else the only host. A `host` label naming no configured host gives no buttons at all (the alert
 * is about a machine the bot does not manage; acting on another one would be wrong).
 */
export function hostFor(alert: Alert, config: IntakeDeps['config']): { name: string } | { none: string } {
  const names = config.hosts.map((h) => h.name);
  const label = alert.labels.host;
  if (label !== undefined) return names.includes(label) ? { name: label } : { none: `its host label names no host the bot manages` };
  const instance = alert.labels.instance?.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  if (instance) {
    const match = config.hosts.find((h) => h.name === instance || (h.transport === 'ssh' && h.address === instance));
    if (match) return { name: match.name };
  }
  if (config.defaultHost !== undefined) return { name: config.defaultHost };
  if (config.hosts.length === 1 && config.hosts[0]) return { name: config.hosts[0].name };
  return { none: 'no host, instance or defaultHost tells which host it is about' };
}

interface Wanted {
  key: string;
  runbook: string;
  host: string;
  params: Record<string, string>;
  label: string;
}

interface Pending {
  hooks: Webhook[];
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

/**
 * Alertmanager groups to messages: one message per group key, edited as the group changes and
 * when it resolves. Webhooks of one group are handled one at a time; those arriving meanwhile are
 * applied together in the next turn (one edit for a burst of resends), and a turn whose result
 * looks as the message already does edits nothing. Different groups proceed in parallel; the
 * publisher (discord.js) queues them by Discord's rate limits.
 */
export class AlertIntake {
  private readonly queues = new Map<string, { pending: Pending | undefined }>();

  constructor(private readonly deps: IntakeDeps) {}

  /** Resolves when the group's message shows this webhook (or a later one of the same group). */
  receive(hook: Webhook): Promise<void> {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(hook.groupKey);
      if (queue) {
        queue.pending ??= { hooks: [], waiters: [] };
        queue.pending.hooks.push(hook);
        queue.pending.waiters.push({ resolve, reject });
        return;
      }
      const q = { pending: { hooks: [hook], waiters: [{ resolve, reject }] } as Pending | undefined };
      this.queues.set(hook.groupKey, q);
      void this.drain(hook.groupKey, q);
    });
  }

  private async drain(groupKey: string, q: { pending: Pending | undefined }): Promise<void> {
    while (q.pending) {
      const batch = q.pending;
      q.pending = undefined;
      try {
        await this.apply(groupKey, batch.hooks);
        for (const w of batch.waiters) w.resolve();
      } catch (err) {
        for (const w of batch.waiters) w.reject(err);
      }
    }
    this.queues.delete(groupKey);
  }

  private async apply(groupKey: string, hooks: Webhook[]): Promise<void> {
    const { store, publisher, log } = this.deps;
    const row = store.get(groupKey);
    let alerts: Alerts = row?.alerts ?? {};
    let status = row?.status;
    let fresh = row === undefined;
    for (const hook of hooks) {
      let next = mergeAlerts(alerts, hook);
      if (status === 'resolved' && groupStatus(next) === 'firing') {
        // Fired again after it was resolved: a new incident gets a new message (the old one may be
        // far up the channel); the old message stays as the record of the last one.
        fresh = true;
        next = mergeAlerts({}, hook);
      }
      alerts = next;
      status = groupStatus(alerts);
    }
    const last = hooks[hooks.length - 1]!;
    const list = Object.values(alerts);
    const host = hostFor(list.find((a) => a.status === 'firing') ?? list[0]!, this.deps.config);
    const offers = this.offers(groupKey, list, host, fresh ? [] : (row?.offers ?? []));
    const shown = renderGroup({ groupKey, receiver: last.receiver, alerts: list, commonLabels: last.commonLabels, commonAnnotations: last.commonAnnotations, host });
    const view: PostView = { ...shown, actions: offers.map((o) => o.action) };
    // Button ids are new for each offer made, so the hash covers what they start, not their ids.
    const hash = createHash('sha256').update(JSON.stringify([shown, offers.map((o) => o.key)])).digest('hex');
    const now = Date.now();
    let ref = row?.message_ref;
    if (row && !fresh) {
      if (row.content_hash !== hash) {
        try {
          await publisher.edit(row.message_ref, view);
          log.info({ groupKey, status, alerts: list.length }, 'alert message edited');
        } catch (err) {
          // Someone deleted the message (Discord: 10008 Unknown Message): show the group again.
          if ((err as { code?: unknown }).code !== 10008) throw err;
          ref = await publisher.post(view);
          log.info({ groupKey, status }, 'alert message was gone; posted again');
        }
      }
    } else {
      // The incident's first post: Alertmanager resends a group until it gets a 200, also when the
      // bot posted and then stopped before storing the message, and such a resend must not post again.
      const began = list.map((a) => a.startsAt).sort()[0] ?? '';
      ref = await publisher.post(view, { key: `alert:${groupKey}:${began}` });
      log.info({ groupKey, status, alerts: list.length }, 'alert message posted');
    }
    store.save({
      group_key: groupKey,
      message_ref: ref!,
      status: status ?? 'firing',
      alerts: JSON.stringify(alerts),
      offers: JSON.stringify(offers),
      content_hash: hash,
      created_at: fresh || !row ? now : row.created_at,
      updated_at: now,
    });
    if (Math.random() < 0.01) store.pruneResolved(now - 30 * 86_400_000);
  }

  /** The group's buttons: each route's runbook for its alerts, then the investigation runbook. */
  private offers(groupKey: string, alerts: Alert[], host: { name: string } | { none: string }, existing: StoredOffer[]): StoredOffer[] {
    const { config, runbookIds, log } = this.deps;
    if (!('name' in host)) {
      log.info({ groupKey, why: host.none }, 'alert shown without buttons');
      return [];
    }
    const wanted: Wanted[] = [];
    const add = (w: Omit<Wanted, 'key'>) => {
      const key = JSON.stringify([w.runbook, w.host, w.params]);
      if (!wanted.some((x) => x.key === key)) wanted.push({ ...w, key });
    };
    for (const alert of alerts) {
      const name = alert.labels.alertname;
      for (const route of config.alerts.filter((r) => r.alertname === name)) {
        const params: Record<string, string> = {};
        let missing: string | undefined;
        for (const [k, template] of Object.entries(route.params)) {
          const filled = fillTemplate(template, alert);
          if ('missing' in filled) missing ??= filled.missing;
          else params[k] = filled.value;
        }
        if (missing !== undefined) {
          log.warn({ groupKey, alertname: name, runbook: route.runbook, missing }, 'alert route skipped: the alert lacks a label or annotation its params use');
          continue;
        }
        const args = Object.values(params).join(' ');
        add({ runbook: route.runbook, host: host.name, params, label: `▶ ${route.runbook}${args ? ` ${args}` : ''}` });
      }
    }
    const first = alerts[0]?.labels.alertname;
    if (runbookIds.has(INVESTIGATION_RUNBOOK) && first !== undefined) {
      add({ runbook: INVESTIGATION_RUNBOOK, host: host.name, params: { alertname: first }, label: '🔎 Investigate' });
    }
    const out: StoredOffer[] = [];
    for (const w of wanted.slice(0, 20)) {
      const kept = existing.find((o) => o.key === w.key);
      if (kept) {
        out.push(kept);
        continue;
      }
      try {
        const origin = `alert ${inert(first ?? 'unnamed', 120)} (Alertmanager group ${inert(groupKey, 200)})`;
        const { id, label, style } = this.deps.engine.offer({ runbook: w.runbook, host: w.host, params: w.params, label: w.label, origin });
        out.push({ key: w.key, action: { id, label, style } });
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        // Hostile or unexpected label values end here: the runbook's params refuse them.
        log.warn({ groupKey, runbook: w.runbook, code: err.code, why: err.message }, 'alert shown without this button: the runbook refused the offer');
      }
    }
    return out;
  }
}
