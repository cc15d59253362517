import { describe, expect, it } from 'vitest';
import { traefikErrors } from '../../runbooks/alert-investigation.js';
import { envDrift } from '../../runbooks/config-drift.js';
import { strictEncode } from '../../runbooks/on-host.js';
import { listeningPorts } from '../../runbooks/ssh-audit.js';
import { parseAuthorizedKeys } from '../../runbooks/ssh-keys.js';

describe('runbook parsers', () => {
  it('config-drift compares .env files by key name only and flags filled secrets in the example', () => {
    const d = envDrift('A=1\nexport DB_PASSWORD="x y"\n# C=3\nEXTRA=\n', 'A=\nDB_PASSWORD=changeme\nC=\nAPI_TOKEN=abc123\n');
    expect(d).toEqual({ missing: ['C', 'API_TOKEN'], extra: ['EXTRA'], secretKeys: ['DB_PASSWORD'], filledInExample: ['API_TOKEN'] });
  });

  it("alert-investigation counts Traefik's entrypoint requests by status class, once per request", () => {
    const e = traefikErrors(
      [
        '# TYPE traefik_entrypoint_requests_total counter',
        'traefik_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"} 90',
        'traefik_entrypoint_requests_total{code="502",entrypoint="web",method="GET",protocol="http"} 10',
        'traefik_service_requests_total{code="502",service="app@docker"} 10',
      ].join('\n'),
    );
    expect(e).toMatchObject({ total: 100, byClass: { '2xx': 90, '5xx': 10 } });
    expect(e.lines).toHaveLength(1);
  });

  it('encodes PromQL to the characters the guard lets through', () => {
    expect(strictEncode('up{job="a b"}')).toBe('up%7Bjob%3D%22a%20b%22%7D');
  });

  it('ssh-audit reads keys with quoted options (spaces inside) and their SHA256 fingerprints', () => {
    const blob = Buffer.from('\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20' + 'k'.repeat(32), 'latin1').toString('base64');
    const keys = parseAuthorizedKeys(`# comment\ncommand="exec /usr/local/bin/opsbot-guard --x \\"y z\\"",no-pty ssh-ed25519 ${blob} bot key\n\nssh-ed25519 ${blob}\nnot a key line\n`);
    expect(keys.map((k) => [k.type, k.comment, k.options.startsWith('command=')])).toEqual([
      ['ssh-ed25519', 'bot key', true],
      ['ssh-ed25519', '', false],
    ]);
    expect(keys[0]?.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('ssh-audit lists listening sockets from /proc/net/tcp and tcp6', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1',
      '   1: 0100007F:0CF5 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2',
      '   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 3',
    ].join('\n');
    expect(listeningPorts(text)).toEqual(['[::]:22', '127.0.0.1:2222']);
  });
});
