import { DiscordAPIError, HTTPError } from 'discord.js';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deliver, deliverWithFallback, isTransient } from '../../src/discord/deliver.js';

const log = pino({ level: 'silent' });
const http = (status: number) => new HTTPError(status, 'x', 'PATCH', 'https://discord.test/api/v10/webhooks/1/t/messages/@original', { body: undefined, files: undefined });
const api = (status: number, code: number) =>
  new DiscordAPIError({ code, message: 'x' }, code, status, 'PATCH', 'https://discord.test/api/v10/webhooks/1/t/messages/@original', { body: undefined, files: undefined });
const network = () => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });

describe('which Discord failures are worth sending again', () => {
  it('5xx, refused connections and timeouts are; 4xx answers and programming errors are not', () => {
    expect(isTransient(http(502))).toBe(true);
    expect(isTransient(network())).toBe(true);
    expect(isTransient(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe(true);
    expect(isTransient(api(400, 50035))).toBe(false);
    expect(isTransient(api(404, 10015))).toBe(false);
    expect(isTransient(new TypeError('x is undefined'))).toBe(false);
  });
});

describe('deliver', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends again after transient failures and returns what finally got through', async () => {
    const send = vi.fn<() => Promise<string>>().mockRejectedValueOnce(http(500)).mockRejectedValueOnce(network()).mockResolvedValue('sent');
    const result = deliver(send, { log, fields: {} });
    await vi.runAllTimersAsync();
    expect(await result).toBe('sent');
    expect(send).toHaveBeenCalledTimes(3);
  });

  it('does not repeat a request Discord refused (4xx)', async () => {
    const send = vi.fn<() => Promise<string>>().mockRejectedValue(api(400, 50035));
    await expect(deliver(send, { log, fields: {} })).rejects.toBeInstanceOf(DiscordAPIError);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('gives up when its time budget is spent', async () => {
    const send = vi.fn<() => Promise<string>>().mockRejectedValue(http(503));
    const result = deliver(send, { log, fields: {}, budgetMs: 5000 });
    const settled = expect(result).rejects.toBeInstanceOf(HTTPError);
    await vi.runAllTimersAsync();
    await settled;
    // 0, 0.5, 1.5, 3.5 s: the next wait (4 s) would pass the 5 s budget.
    expect(send).toHaveBeenCalledTimes(4);
  });

  it('falls back to the other route when the first stays broken, and only then', async () => {
    const primary = vi.fn<() => Promise<string>>().mockRejectedValue(http(500));
    const fallback = vi.fn<() => Promise<string>>().mockResolvedValue('via channel');
    const result = deliverWithFallback(primary, fallback, { log, fields: {}, budgetMs: 2000 });
    await vi.runAllTimersAsync();
    expect(await result).toBe('via channel');
    expect(fallback).toHaveBeenCalledTimes(1);

    const refused = vi.fn<() => Promise<string>>().mockRejectedValue(api(403, 50001));
    const unused = vi.fn<() => Promise<string>>().mockResolvedValue('never');
    await expect(deliverWithFallback(refused, unused, { log, fields: {} })).rejects.toBeInstanceOf(DiscordAPIError);
    expect(unused).not.toHaveBeenCalled();
  });
});
