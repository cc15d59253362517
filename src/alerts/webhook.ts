import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { HttpError, readBody, sendJson, type RouteHandler } from '../http/server.js';

const labels = z.record(z.string(), z.string());

/** One alert of Alertmanager's webhook (version 4), as it sends it. */
export const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels,
  annotations: labels.default({}),
  startsAt: z.string(),
  endsAt: z.string().default(''),
  generatorURL: z.string().default(''),
  fingerprint: z.string().min(1).max(128),
});
export type Alert = z.infer<typeof alertSchema>;

/** Alertmanager's webhook body, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export const webhookSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string().min(1).max(4096),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().default(''),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: labels.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(alertSchema).min(1, 'holds no alert'),
});
export type Webhook = z.infer<typeof webhookSchema>;

/** A group of 1,000 alerts with generous labels is well under this; more is not Alertmanager. */
export const MAX_WEBHOOK_BYTES = 1_048_576;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Whether the request carries `Authorization: Bearer <token>`. Both sides are hashed first so the
 * comparison takes the same time whatever the length or the first wrong character.
 */
export function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const given = m?.[1] ?? '';
  return timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}

/** What the route hands on: one checked webhook, resolved when its message is posted or edited. */
export type Deliver = (hook: Webhook) => Promise<void>;

/**
 * POST /alerts/alertmanager. Refusals (401 no or wrong token, 413 too large, 400 not a v4
 * webhook) happen before anything is posted; 200 once the group's message shows the alerts, 503
 * when Discord would not take it (Alertmanager retries a 5xx).
 */
export function alertmanagerRoute(opts: { token: string | undefined; deliver: Deliver; log: Logger; onReceived?: (hook: Webhook) => void }): RouteHandler {
  const { token, deliver, log } = opts;
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (token === undefined) {
      throw new HttpError(503, 'alert intake is disabled: OPSBOT_ALERTMANAGER_TOKEN is not set on the bot', { connection: 'close' });
    }
    if (!authorized(req, token)) {
      log.warn({ remote: req.socket.remoteAddress, hasAuthorization: req.headers.authorization !== undefined }, 'alertmanager webhook refused: its Authorization header is missing or wrong');
      // The body is never read: close the connection rather than drain it.
      throw new HttpError(401, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer', connection: 'close' });
    }
    const body = await readBody(req, MAX_WEBHOOK_BYTES);
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'malformed JSON');
    }
    const parsed = webhookSchema.safeParse(json);
    if (!parsed.success) {
      const why = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
      log.warn({ why }, 'alertmanager webhook refused: not a version 4 webhook');
      throw new HttpError(400, `not an Alertmanager v4 webhook: ${why}`.slice(0, 500));
    }
    opts.onReceived?.(parsed.data);
    try {
      await deliver(parsed.data);
    } catch (err) {
      log.error({ err, groupKey: parsed.data.groupKey }, 'alert group could not be posted; Alertmanager will retry');
      throw new HttpError(503, 'the alert could not be posted to the chat yet; retry later');
    }
    sendJson(res, 200, { ok: true });
  };
}
