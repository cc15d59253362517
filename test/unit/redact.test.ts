import { describe, expect, it } from 'vitest';
import { addSecret, addSecretValues, encodedForms, notSecretReason, redact } from '../../src/engine/redact.js';

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

  // Fake secrets of real shapes (none is valid anywhere).
  it.each([
    ['AWS access key id', 'aws_access_key_id AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
    ['GitHub fine-grained token', 'git push https://x github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnop'],
    ['GitHub app token', 'token ghs_16C7e42F292c6912E7710c838347Ae178B4a', 'ghs_16C7e42F292c6912E7710c838347Ae178B4a'],
    ['Discord token starting with O', 'logged in with ODk4NzY1NDMyMTA5ODc2NTQz.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789', 'ODk4NzY1NDMyMTA5ODc2NTQz'],
    ['Discord token starting with M', 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJ', 'MTIzNDU2Nzg5MDEyMzQ1Njc4'],
    ['Discord token starting with N', 'x NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I y', 'NzkyNzE1NDU0MTk2MDg4ODQy'],
    ['Discord webhook URL', 'POST https://discord.com/api/webhooks/123456789012345678/AbCdEf-GhIjKlMnOpQrStUvWxYz0123456789_abcdefghijkl', 'AbCdEf-GhIjKlMnOpQrStUvWxYz0123456789_abcdefghijkl'],
    ['Slack webhook URL', 'notify https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX ok', 'XXXXXXXXXXXXXXXXXXXXXXXX'],
    ['Slack bot token', 'SLACK=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
    ['Stripe live secret key', 'charge with sk_live_51HcXyZAbCdEfGhIjKlMnOpQr', 'sk_live_51HcXyZAbCdEfGhIjKlMnOpQr'],
    ['Stripe restricted key', 'rk_live_51HcXyZAbCdEfGhIjKlMnOpQr used', 'rk_live_51HcXyZAbCdEfGhIjKlMnOpQr'],
    ['shoutrrr discord URL', 'WATCHTOWER_NOTIFICATION_URL=discord://AbCdEf0123456789token@123456789012345678', 'AbCdEf0123456789token'],
    ['shoutrrr slack URL', 'notifications: slack://hook:WNA3PBYV6-F20DUQND3RQ-Webc4MAvoacrpPakR8phF0zi@webhook', 'Webc4MAvoacrpPakR8phF0zi'],
    ['shoutrrr slack token URL', 'url slack://T0123ABCD/B0123ABCD/abcdefghijklmnopqrstuvwx', 'abcdefghijklmnopqrstuvwx'],
    ['redis URL without a user', 'connecting to redis://:r3dis-pass@cache:6379/0', 'r3dis-pass'],
    ['a password with / and @', 'DATABASE=postgres://app:pa/ss@w0rd@db:5432/app', 'pa/ss@w0rd'],
    ['a password with @ in a mongodb URL', 'mongodb://root:p@ssw0rd@mongo:27017/admin', 'p@ssw0rd'],
    ['Sentry DSN', 'Sentry: https://0123456789abcdef0123456789abcdef@o123456.ingest.sentry.io/4504', '0123456789abcdef0123456789abcdef'],
    ['--requirepass as a separate argument', '999  12  redis-server *:6379 --requirepass s3cr3t-redis', 's3cr3t-redis'],
    ['--token as a separate argument', 'node agent.js --token abc123tokenvalue --verbose', 'abc123tokenvalue'],
    ['--password as a separate argument', 'backup --user app --password hunter22 --out /x', 'hunter22'],
    ['mysql -p attached', 'mysql -u root -pMySqlPass99 app', 'MySqlPass99'],
    ['mysql -p separate', '/usr/bin/mysqldump -h db -u root -p MySqlPass99 app', 'MySqlPass99'],
    ['redis-cli -a', 'redis-cli -h cache -a RedisCliPass1 ping', 'RedisCliPass1'],
    ['curl -u user:pass', 'curl -fsS -u admin:curlpass123 https://example.com/api', 'curlpass123'],
    ['Authorization with another scheme', 'Authorization: Token abcdef0123456789', 'abcdef0123456789'],
    ['a secret key inside an escaped JSON string', '{"msg":"env DB_PASSWORD=\\"hunter2\\" loaded"}', 'hunter2'],
    ['an escaped JSON key', '{"body":"{\\"password\\":\\"hunter2x\\"}"}', 'hunter2x'],
    ['a secret key behind a non-secret one', 'docker run --env=DB_PASSWORD=envpass1 app', 'envpass1'],
    ['GitLab token', 'glpat-AbCdEfGhIjKlMnOpQrSt', 'glpat-AbCdEfGhIjKlMnOpQrSt'],
    ['Google API key', 'key AIzaSyA1234567890abcdefghijklmnopqrstuv', 'AIzaSyA1234567890abcdefghijklmnopqrstuv'],
    ['OpenAI key', 'using sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345', 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345'],
    ['SendGrid key', 'SG.AbCdEfGhIjKlMnOpQrStUv.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg', 'SG.AbCdEfGhIjKlMnOpQrStUv'],
    ['npm token', '//registry.npmjs.org/:_authToken npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789', 'npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'],
    ['Telegram bot token', 'bot 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw ready', 'AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw'],
    ['Vault token', 'VAULT hvs.CAESIAbCdEfGhIjKlMnOpQrStUvWxYz', 'hvs.CAESIAbCdEfGhIjKlMnOpQrStUvWxYz'],
    ['SESSION_SALT', 'SESSION_SALT=plainsaltvalue', 'plainsaltvalue'],
  ])('hides a %s', (_name, line, secret) => {
    const out = redact(line);
    expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });

  const KEY_LINES = [
    'MIIEowIBAAKCAQEAvqbBrQ3kfT0l5mZp3Vx8Yw2N6hJ9gT4cR1sL0aK7eD2fH5jM',
    'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
    'Qy9UrXk1aP2z8QmW7eR4tY6uI0oP3aS5dF8gH1jK4lZ7xC9vB2nM6qW0eR3tY5uI',
  ];

  it('hides a key body cut by pagination (no BEGIN line in view)', () => {
    const page = `2026-01-01 app starting\n${KEY_LINES.join('\n')}\n`;
    const out = redact(page);
    for (const line of KEY_LINES) expect(out).not.toContain(line);
    expect(out).toContain('2026-01-01 app starting');
  });

  it('hides a lone END line and the short last body line above it', () => {
    const page = `${KEY_LINES[2]}\nAAAAQIDBA==\n-----END OPENSSH PRIVATE KEY-----\nnext line`;
    const out = redact(page);
    expect(out).not.toContain('AAAAQIDBA==');
    expect(out).not.toContain(KEY_LINES[2]);
    expect(out).toContain('next line');
    expect(out).toContain('[redacted]');
  });

  it('hides a registered value literally, in base64 (also inside a longer base64 text) and URL-encoded', () => {
    expect(addSecretValues([['SESSION_SALT', 'r3g1stered/salt+value@x']])).toBe(1);
    const value = 'r3g1stered/salt+value@x';
    const lines = [
      `salt is ${value}`,
      `b64 ${Buffer.from(value).toString('base64')}`,
      `Authorization: Basic-ish ${Buffer.from(`user:${value}`).toString('base64')}`,
      `${Buffer.from(`ab${value}cd`).toString('base64')}`,
      `url ?s=${encodeURIComponent(value)}&x=1`,
      JSON.stringify({ s: `"${value}"` }),
    ];
    for (const line of lines) {
      const out = redact(line);
      expect(out, line).toContain('[redacted]');
      for (const form of encodedForms(value)) expect(out, line).not.toContain(form);
    }
  });

  it('takes every .env value under any name, except plainly non-secret ones', () => {
    for (const v of ['true', '3333', '127.0.0.1', '/srv/app', 'production', 'brainbytes', 'http://mongo:27017', '1.2.3', '30s', 'api.example.com', 'INFO', 'Europe', 'COMPOSE_PROJECT']) {
      expect(notSecretReason(v), v).toBeDefined();
    }
    expect(notSecretReason('correcthorse', 'DB_PASSWORD')).toBeUndefined();
    // A password of letters only is mixed case, unlike a word: myQwErTyUiOp (seen leak: a corpus value without digits).
    for (const v of ['hunter22', 'https://abc123def456@o1.ingest.sentry.io/1', 'base64:abc', 'S3ss10nSalt', 'myQwErTyUiOpAsDf', 'xKpLmNqRsTuV']) {
      expect(notSecretReason(v), v).toBeUndefined();
    }
  });

  it('keeps everyday output readable', () => {
    const lines = [
      'GET /a.b.c?x=1 HTTP/1.1',
      '127.0.0.1 - - [01/Jan/2026:12:30:45 +0000] "GET /api/items?id=42&page=2 HTTP/1.1" 200 512 "https://example.com/shop/cart" "Mozilla/5.0"',
      '2026-01-01T12:30:45.123Z INFO request finished in 12ms',
      'container 3f4e5d6c7b8a restarted',
      'image sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 pulled',
      '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      'Digest: sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'connecting to mongodb://mongo:27017/app and http://localhost:3333/health',
      'see https://github.com/org/repo/issues/42 and https://example.com/users/@bob',
      'ssh git@github.com',
      'tests passed: 42, failed: 0',
      'docker run -u 1000:1000 -p 8080:80 app',
      'PWD=/srv/app',
      'author: alice',
      'received SIGHUP, reloading configuration',
      'UID   PID  PPID  C STIME TTY  TIME     CMD',
      'root  1    0     0 12:00 ?    00:00:00 /sbin/tini -- /bin/sh /srv/app/run.sh',
      'keyboard layout: us',
    ];
    for (const line of lines) expect(redact(line), line).toBe(line);
  });
});
