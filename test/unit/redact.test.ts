import { describe, expect, it } from 'vitest';
import { addSecret, redact } from '../../src/engine/redact.js';

describe('redaction', () => {
  it.each([
    ['MONGO_PASSWORD=hunter2secret', 'hunter2secret'],
    ['export API_KEY="abc def 123"', 'abc def 123'],
    ['JWT_SECRET: s3cr3t-value', 's3cr3t-value'],
    ['booting with APP_KEY=base64:stagingappkey0042', 'stagingappkey0042'],
    ['Authorization: Bearer abc.def-ghi_123', 'abc.def-ghi_123'],
    ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.sig_part-1 end', 'eyJhbGciOiJIUzI1NiJ9'],
    ['{"dbPassword":"pa\\"ss"}', 'pa\\"ss'],
    ['GHCR: ghp_abcdefghijklmnopqrstuv0123', 'ghp_abcdefghijklmnopqrstuv0123'],
    ['mongodb://root:rootpw@mongo:27017', 'rootpw'],
    ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAA'],
  ])('hides the secret in %j', (line, secret) => {
    const out = redact(line);
    expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });

  it('keeps ordinary output intact', () => {
    const line = 'GET /health 200 12ms\nservice adonisjs restarted';
    expect(redact(line)).toBe(line);
  });

  it('hides registered literal secrets anywhere', () => {
    addSecret('literal-token-value-xyz');
    expect(redact('prefix literal-token-value-xyz suffix')).toBe('prefix [redacted] suffix');
  });

  it('keeps JSON log lines parseable', () => {
    const line = JSON.stringify({ msg: 'booting with APP_KEY=abc123 and more', n: 1 });
    expect(() => JSON.parse(redact(line))).not.toThrow();
  });
});
