import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/engine/errors.js';
import { retryLostRead } from '../../src/host/transport.js';

const lost = () => new UserError('host.connection-lost', 'The SSH connection was lost while `x` was running');

describe('a read whose SSH channel closed without an exit status', () => {
  it('is run once more, and only once', async () => {
    let calls = 0;
    await expect(retryLostRead(async () => (++calls === 1 ? Promise.reject(lost()) : 'ok'), false)).resolves.toBe('ok');
    expect(calls).toBe(2);
    calls = 0;
    await expect(retryLostRead(async () => (++calls, Promise.reject(lost())), false)).rejects.toThrow(/lost/);
    expect(calls).toBe(2);
  });

  it('a step that changes the host is never run twice, and other errors are not retried', async () => {
    let calls = 0;
    await expect(retryLostRead(async () => (++calls, Promise.reject(lost())), true)).rejects.toThrow(/lost/);
    expect(calls).toBe(1);
    calls = 0;
    await expect(retryLostRead(async () => (++calls, Promise.reject(new UserError('host.busy', 'busy'))), false)).rejects.toThrow(/busy/);
    expect(calls).toBe(1);
  });
});
