/**
 * Redaction applied to everything a host prints before it is stored, logged or shown. It errs on
 * the side of hiding too much: a hidden harmless value costs a glance, a shown secret costs a
 * rotation. But everyday output (URLs without credentials, request lines, timestamps, container
 * ids, image digests) stays readable.
 *
 * Service logs are attacker-controlled text (anyone chooses the paths a proxy logs), so every
 * rule runs in time linear in its input: each pattern starts at a literal or at the start of a
 * token (a lookbehind), and every repeat that could be followed by backtracking is bounded. Where
 * a regular expression cannot say it linearly (the key of `KEY=value`, URL credentials, PEM
 * blocks), a small scanner does the work.
 */
const MASK = '[redacted]';

type Rule = (text: string) => string;

/** A rule that replaces every match of a global pattern. */
const replaceAll = (pattern: RegExp, replacement: string | ((...m: string[]) => string)): Rule =>
  (text) => text.replace(pattern, replacement as string);

// ---------------------------------------------------------------------------------------------
// Private keys

const PEM_MARK = /-----(BEGIN|END) ([A-Z0-9 ]{0,40})PRIVATE KEY-----/g;
const KEY_BODY_CHAR = /[A-Za-z0-9+/=]/;

/**
 * Where the key body above a lone END line starts: the base64 characters right before it and the
 * whole base64 lines above those, no further back than `floor` (what was already handled).
 */
function keyBodyStart(text: string, end: number, floor: number): number {
  let start = end;
  while (start > floor && KEY_BODY_CHAR.test(text[start - 1] ?? '')) start--;
  for (;;) {
    let nl = start - 1;
    while (nl > floor && (text[nl - 1] === '\r' || text[nl - 1] === ' ' || text[nl - 1] === '\t')) nl--;
    if (nl <= floor || text[start - 1] !== '\n') return start;
    let lineStart = nl;
    while (lineStart > floor && lineStart > nl - 100 && KEY_BODY_CHAR.test(text[lineStart - 1] ?? '')) lineStart--;
    while (lineStart > floor && (text[lineStart - 1] === ' ' || text[lineStart - 1] === '\t')) lineStart--;
    const whole = lineStart === floor || text[lineStart - 1] === '\n';
    if (!whole || lineStart === nl) return start;
    start = lineStart;
  }
}

/**
 * A whole key (BEGIN … END, or BEGIN to the end when cut), and the tail of a key whose BEGIN line
 * is not in view (pagination, `lines:`): the body lines above a lone END line and the END line.
 */
const pemBlocks: Rule = (text) => {
  if (!text.includes('PRIVATE KEY-----')) return text;
  let out = '';
  let last = 0;
  PEM_MARK.lastIndex = 0;
  for (let m = PEM_MARK.exec(text); m !== null; m = PEM_MARK.exec(text)) {
    const kind = m[2] ?? '';
    const endMark = `-----END ${kind}PRIVATE KEY-----`;
    if (m[1] === 'BEGIN') {
      const endAt = text.indexOf(endMark, PEM_MARK.lastIndex);
      const stop = endAt === -1 ? text.length : endAt + endMark.length;
      out += `${text.slice(last, m.index)}-----BEGIN ${kind}PRIVATE KEY----- ${MASK} ${endMark}`;
      last = stop;
      PEM_MARK.lastIndex = stop;
    } else {
      out += `${text.slice(last, keyBodyStart(text, m.index, last))}${MASK} ${endMark}`;
      last = PEM_MARK.lastIndex;
    }
  }
  return out + text.slice(last);
};

/**
 * A line that is (or ends with) one base64 run of key-body length with mixed case and digits: a
 * line of a PEM or OpenSSH key seen without its BEGIN and END lines. Hex (digests, ids) is spared.
 */
const keyBodyLines = replaceAll(/(^|[ \t])([A-Za-z0-9+/]{40,100}={0,2})(?=[ \t]*\r?$)/gm, (whole, lead, body) =>
  /[A-Z]/.test(body!) && /[a-z]/.test(body!) && /\d/.test(body!) && !/^[0-9a-fA-F]+$/.test(body!) ? `${lead}${MASK}` : whole!,
);

// ---------------------------------------------------------------------------------------------
// Vendor formats: tokens recognisable by their prefix. Each starts at a literal that must not
// continue a longer token (lookbehind), so a run is tried once, not at each of its positions.

const VENDOR_TOKENS: RegExp[] = [
  /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Za-z0-9])/, // AWS access key id
  /(?<![\w-])gh[pousr]_[A-Za-z0-9]{16,255}/, // GitHub
  /(?<![\w-])github_pat_[A-Za-z0-9_]{22,255}/, // GitHub fine-grained
  /(?<![\w-])gl(?:pat|dt|ptt|rt|cbt|oas|soat)-[\w-]{20,}/, // GitLab
  /(?<![\w-])(?:xox[abeoprs]|xapp)-[A-Za-z0-9-]{10,}/, // Slack
  /(?<![\w-])[MNO][A-Za-z\d_-]{23,27}\.[\w-]{6,7}\.[\w-]{27,}/, // Discord bot token
  /(?<![\w-])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}/, // Stripe secret / restricted
  /(?<![\w-])whsec_[A-Za-z0-9+/=]{20,}/, // Stripe webhook secret
  /(?<![\w-])sk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/, // OpenAI, Anthropic
  /(?<![\w-])AIza[0-9A-Za-z_-]{35}/, // Google API key
  /(?<![\w-])ya29\.[\w-]{20,}/, // Google OAuth access token
  /(?<![\w-])SG\.[\w-]{16,32}\.[\w-]{16,64}/, // SendGrid
  /(?<![\w-])npm_[A-Za-z0-9]{36}/, // npm
  /(?<![\w-])pypi-AgE[\w-]{50,}/, // PyPI
  /(?<![\w-])dckr_pat_[\w-]{20,}/, // Docker Hub
  /(?<![\w.-])hv[sbr]\.[\w-]{20,}/, // HashiCorp Vault
  /(?<![\w-])do[por]_v1_[a-f0-9]{64}/, // DigitalOcean
  /(?<![\w-])hf_[A-Za-z0-9]{30,}/, // Hugging Face
  /(?<![\w-])shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}/, // Shopify
  /(?<![\w-])SK[0-9a-fA-F]{32}(?![\w-])/, // Twilio API key
  /(?<![\w-])key-[0-9a-f]{32}(?![\w-])/, // Mailgun
  /(?<![\w:])\d{8,10}:AA[\w-]{30,40}/, // Telegram bot token
  /(?<![\w-])sntry[su]_[\w=+/]{30,}/, // Sentry auth token
  /(?<![\w-])AGE-SECRET-KEY-1[0-9A-Z]{58}/, // age
  /(?<![\w-])gl(?:sa|c)_[\w+/=]{30,}/, // Grafana
  /(?<![\w-])PMAK-[a-f0-9]{24}-[a-f0-9]{34}/, // Postman
  /(?<![\w-])lin_api_[A-Za-z0-9]{40}/, // Linear
  /(?<![\w-])dapi[a-f0-9]{32}(?![\w-])/, // Databricks
  /(?<![\w-])NRAK-[A-Z0-9]{27}/, // New Relic
  /(?<![\w-])dp\.(?:pt|st|sa|ct)\.[A-Za-z0-9]{40,}/, // Doppler
  /(?<![\w-])pul-[a-f0-9]{40}/, // Pulumi
  /(?<![\w-])ATATT3[A-Za-z0-9_=-]{100,}/, // Atlassian
  /(?<![\w-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/, // JWT
];
const vendorTokens = replaceAll(new RegExp(VENDOR_TOKENS.map((r) => `(?:${r.source})`).join('|'), 'g'), MASK);

/** Webhook URLs carry their secret in the path; the id before it is kept. */
const webhooks = replaceAll(
  /((?:discord(?:app)?\.com\/api(?:\/v\d{1,2})?\/webhooks\/\d{1,25}\/)|(?:hooks\.slack\.com\/(?:services|workflows|triggers)\/))[^\s"'<>`]+/gi,
  `$1${MASK}`,
);

/** Notification URLs (shoutrrr, as watchtower uses them) are credentials from end to end. */
const notificationUrls = replaceAll(
  /(?<![\w+.-])((?:discord|slack|telegram|teams|pushover|gotify|pushbullet|matrix|mattermost|rocketchat|zulip|ntfy|join|ifttt|opsgenie|bark|googlechat|hangouts|lark|pagerduty):\/\/)[^\s"'<>`]+/gi,
  `$1${MASK}`,
);

// ---------------------------------------------------------------------------------------------
// Credentials in HTTP headers and URLs

const authSchemes = replaceAll(/\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/gi, `$1 ${MASK}`);
/** `Authorization: Token x`, `Authorization: Bot x`: any scheme once the header names it. */
const authorizationHeader = replaceAll(/\b((?:proxy-)?authorization["']?[ \t]{0,4}[:=][ \t]{0,4}["']?[A-Za-z]{2,20}[ \t]{1,4})[^\s"',;]+/gi, `$1${MASK}`);

/**
 * The user-info part of one `scheme://…@` authority (already cut at its last `@`), masked; or
 * undefined when it is not credentials. A password may contain `/` and `@`, so a `/` only ends
 * the authority when no `user:` came before it or when what follows the `:` is a port.
 */
function maskUserinfo(info: string): string | undefined {
  const colon = info.indexOf(':');
  const slash = info.indexOf('/');
  if (slash !== -1 && (colon === -1 || colon > slash || /^\d*$/.test(info.slice(colon + 1, slash)))) return undefined;
  if (colon !== -1) return `${info.slice(0, colon)}:${MASK}`;
  // A bare user name (`git@`, `deploy@`) is no secret; a token as user (`discord://token@id`,
  // Sentry DSNs, `https://<token>@github.com`) is.
  return info.length >= 8 ? MASK : undefined;
}

const SCHEME_CHAR = /[A-Za-z0-9+.-]/;

/** Every `scheme://user:password@` (or `scheme://token@`) in one whitespace-free token. */
function urlCredentialsInToken(token: string): string {
  if (!token.includes('@')) return token;
  let out = '';
  let last = 0;
  for (let i = token.indexOf('://'); i !== -1; ) {
    const start = i + 3;
    const next = token.indexOf('://', start);
    if (i > 0 && SCHEME_CHAR.test(token[i - 1] ?? '')) {
      // Credentials are short: look for the last `@` within 512 characters, before the next URL.
      const limit = Math.min(next === -1 ? token.length : next, start + 512);
      let at = limit - 1;
      while (at >= start && token.charCodeAt(at) !== 64) at--;
      const masked = at > start ? maskUserinfo(token.slice(start, at)) : undefined;
      if (masked !== undefined) {
        out += token.slice(last, start) + masked;
        last = at;
      }
    }
    i = next;
  }
  return out + token.slice(last);
}

const TOKEN_BREAK = /[\s"'<>`]/;

/**
 * Each token (a run without blanks or quotes) that contains `://`, found from its `://` and
 * handled once however many it contains.
 */
const urlCredentials: Rule = (text) => {
  let i = text.indexOf('://');
  if (i === -1) return text;
  let out = '';
  let last = 0;
  while (i !== -1) {
    let start = i;
    while (start > last && !TOKEN_BREAK.test(text[start - 1] ?? ' ')) start--;
    let end = i + 3;
    while (end < text.length && !TOKEN_BREAK.test(text[end] ?? ' ')) end++;
    const token = text.slice(start, end);
    const masked = urlCredentialsInToken(token);
    if (masked !== token) {
      out += text.slice(last, start) + masked;
      last = end;
    }
    i = text.indexOf('://', end);
  }
  return last === 0 ? text : out + text.slice(last);
};

// ---------------------------------------------------------------------------------------------
// KEY=value, "key": "value", --flag value

/** A cheap first test on a key (bounded lookahead inside the key patterns). */
const KEY_HINT = String.raw`(?=[\w.-]{0,63}?(?:key|tok|secret|pass|pwd|cred|salt|dsn|auth|sig|cookie))`;
const SECRET_WORDS = new Set([
  'key', 'keys', 'token', 'tokens', 'secret', 'secrets', 'password', 'passwords', 'passwd', 'pass', 'pwd', 'passphrase',
  'credential', 'credentials', 'creds', 'salt', 'dsn', 'auth', 'authorization', 'signature', 'sig', 'cookie', 'requirepass', 'masterauth',
]);
/** Glued words (`apikey`, `dbpassword`, `accesstoken`, `requirepass`, `oauth`). */
const SECRET_SUFFIX = /(?:key|token|secret|password|passwd|pass|pwd|salt|dsn|auth|credentials?)$/;
/** Ordinary words that happen to end like a secret word. */
const NOT_SECRET_WORDS = new Set(['monkey', 'turkey', 'hockey', 'jockey', 'whiskey', 'donkey', 'compass', 'bypass', 'surpass', 'trespass', 'overpass', 'underpass']);

/** Whether a key (env name, JSON key, option name) names a secret: by its words, not any substring. */
export function isSecretKey(key: string): boolean {
  const name = key.replace(/^[-\\"']+/, '');
  // The working directory, not a password.
  if (/^(?:OLD)?PWD$/i.test(name)) return false;
  for (const word of name.match(/[A-Z]?[a-z]+|[A-Z]+(?![a-z])/g) ?? []) {
    const w = word.toLowerCase();
    if (SECRET_WORDS.has(w) || (SECRET_SUFFIX.test(w) && !NOT_SECRET_WORDS.has(w))) return true;
  }
  return false;
}

/** `KEY=`, `KEY: `, `"key": `, `'key'=`, `\"key\":` (a JSON string inside a JSON string). */
const KEY_SEP = new RegExp(String.raw`(?<![\w.-])(\\?["']|)${KEY_HINT}([\w.-]{1,64})\1[ \t]{0,4}[=:][ \t]{0,4}`, 'gi');
/** The value after a secret key: quoted (with escapes), quoted with escaped quotes, or a bare run. */
const VALUE = /"(?:[^"\\\n]|\\.){0,2048}"|'[^'\n]{0,2048}'|\\"(?:[^"\\\n]|\\[^"\n]){0,2048}\\"|(\\?["']?)[^\s"'\\&]+/y;

function maskValue(value: string, bareLead: string | undefined): string {
  if (bareLead !== undefined) return `${bareLead}${MASK}`;
  if (value.startsWith('\\"')) return `\\"${MASK}\\"`;
  return `${value[0] ?? ''}${MASK}${value[0] ?? ''}`;
}

/**
 * A scanner rather than one expression: a key that is not secret leaves its value to be scanned
 * as keys itself (`--env=DB_PASSWORD=x`), and no value is read twice.
 */
const keyValues: Rule = (text) => {
  let out = '';
  let last = 0;
  KEY_SEP.lastIndex = 0;
  for (let m = KEY_SEP.exec(text); m !== null; m = KEY_SEP.exec(text)) {
    if (!isSecretKey(m[2] ?? '')) continue;
    const valueAt = KEY_SEP.lastIndex;
    VALUE.lastIndex = valueAt;
    const v = VALUE.exec(text);
    if (v === null) continue;
    out += text.slice(last, valueAt) + maskValue(v[0], v[1]);
    last = VALUE.lastIndex;
    KEY_SEP.lastIndex = last;
  }
  return last === 0 ? text : out + text.slice(last);
};

/** `--requirepass x`, `--token x`, `-password x`: a secret given as the next argument (`/top`). */
const OPTION_ARG = new RegExp(String.raw`(?<![\w-])(--?)${KEY_HINT}([A-Za-z][\w-]{0,62})([ \t]+)(?=[^\s-])([^\s"']+)`, 'gi');
const optionArgs = replaceAll(OPTION_ARG, (whole, dashes, name, space) => (isSecretKey(name!) ? `${dashes}${name}${space}${MASK}` : whole!));
/** Redis configuration lines and arguments without dashes. */
const redisConf = replaceAll(/(?<![\w-])(requirepass|masterauth)([ \t]+)(?=[^\s-])[^\s"']+/gi, `$1$2${MASK}`);

/** Tools that take a password as `-p<secret>` / `-p <secret>` (or redis-cli's `-a`). */
const PASSWORD_FLAG_TOOLS = /(?<![\w.-])(mysql\w*|mariadb[\w-]*|mongo\w*|sshpass|redis-cli)\b(?!:)([^\n]*)/g;
const toolPasswords = replaceAll(PASSWORD_FLAG_TOOLS, (_whole, tool, rest) => {
  const flag = tool === 'redis-cli' ? /(\s-a)([ \t]?)(?=[^\s-])[^\s"']+/g : /(\s-p)([ \t]?)(?=[^\s-])[^\s"']+/g;
  return tool! + rest!.replace(flag, `$1$2${MASK}`);
});

/** `curl -u user:password`, `--user`, `--proxy-user` (not `-u 1000:1000`, a uid:gid). */
const userPassword = replaceAll(/(?<![\w-])(-u|-U|--user|--proxy-user)([ \t]+|=)?([^\s:"']{0,128}):([^\s"']+)/g, (whole, flag, sep, user, pass) =>
  /^\d*$/.test(user!) && /^\d+$/.test(pass!) ? whole! : `${flag}${sep ?? ''}${user}:${MASK}`,
);

// ---------------------------------------------------------------------------------------------
// Literal secrets: the bot's own token and the host's secret values

const literals = new Set<string>();
let literalPattern: RegExp | undefined;
let literalPatternStale = false;

function addLiteral(value: string): boolean {
  if (value.length < MIN_SECRET_LENGTH || literals.has(value)) return false;
  literals.add(value);
  literalPatternStale = true;
  return true;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

interface TrieNode {
  next: Map<string, TrieNode>;
  end: boolean;
}

/**
 * One pattern for all literals, factored as a trie (`ab(?:c|d)`): the engine then decides at
 * each position with one character test per level instead of trying every literal (50× faster
 * with a thousand literals). Greedy optional tails make the longest literal win.
 */
function triePattern(words: Iterable<string>): string {
  const root: TrieNode = { next: new Map(), end: false };
  for (const word of words) {
    let node = root;
    for (const ch of word) {
      let child = node.next.get(ch);
      if (child === undefined) node.next.set(ch, (child = { next: new Map(), end: false }));
      node = child;
    }
    node.end = true;
  }
  const emit = (node: TrieNode): string => {
    const alts = [...node.next].map(([ch, child]) => escapeRegExp(ch) + emit(child));
    if (alts.length === 0) return '';
    const body = alts.length === 1 ? alts[0]! : `(?:${alts.join('|')})`;
    return node.end ? `(?:${body})?` : body;
  };
  return emit(root);
}

const literalSecrets: Rule = (text) => {
  if (literalPatternStale) {
    literalPattern = literals.size === 0 ? undefined : new RegExp(triePattern(literals), 'g');
    literalPatternStale = false;
  }
  return literalPattern === undefined ? text : text.replace(literalPattern, MASK);
};

/** Shorter values would mask ordinary words and numbers everywhere. */
export const MIN_SECRET_LENGTH = 6;

/**
 * Registers a literal value (e.g. the bot token) that must never appear anywhere, as it is.
 * Values shorter than MIN_SECRET_LENGTH are ignored.
 */
export function addSecret(value: string | undefined): void {
  if (value !== undefined) addLiteral(value);
}

/**
 * Why a configuration value is not taken as a secret, or undefined when it is. A host's `.env`
 * and compose environment hold secrets under any name (SESSION_SALT, SENTRY_DSN), so every value
 * counts, except those that are plainly not secret and would, masked everywhere, destroy ordinary
 * output: short values, booleans, numbers, ports, IP addresses, versions and durations, absolute
 * paths, URLs with neither credentials nor a path, and — unless the name says it is a secret —
 * a single plain word or host name without digits (`production`, the project name, `mongo`).
 */
export function notSecretReason(value: string, name?: string): string | undefined {
  const v = value.trim();
  if (v.length < MIN_SECRET_LENGTH) return 'shorter than 6 characters';
  if (/^(?:true|false|yes|no|on|off|null|none|nil|undefined)$/i.test(v)) return 'a boolean or null';
  if (/^[\d\s.,:_+\-/*]+[a-z]{0,2}$/i.test(v)) return 'a number, port, address, version, date or duration';
  if (/^(?:~|\.{1,2})?\/[\w./@-]*$/.test(v) && !v.includes('//')) return 'a path';
  if (/^[a-z][a-z0-9+.-]*:\/\/[\w.-]+(?::\d+)?\/?$/i.test(v)) return 'a URL without credentials or path';
  // Words as people write them (production, brainbytes, api.example.com, INFO, Europe): each
  // part lower-case, upper-case or capitalised. A mixed-case run of letters (a password without
  // digits, e.g. `myQwErTyUiOp`) is no word.
  const wordy = v.split(/[._-]+/).every((part) => part === part.toLowerCase() || part === part.toUpperCase() || /^[A-Z][a-z]*$/.test(part));
  if (/^[A-Za-z][A-Za-z._-]*$/.test(v) && wordy && !(name !== undefined && isSecretKey(name))) return 'a plain word or host name';
  return undefined;
}

/**
 * The forms a value takes when a program re-encodes it: base64 (standard and URL-safe, at each of
 * the three alignments it can have inside a longer base64 text, e.g. `Basic base64(user:pass)`),
 * URL encoding, and JSON string escaping.
 */
export function encodedForms(value: string): string[] {
  const forms = new Set<string>([value]);
  const bytes = Buffer.from(value, 'utf8');
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64').replace(/=+$/, '');
    // Characters that also depend on the unknown bytes before (shift) or after (an incomplete group).
    const head = shift === 0 ? 0 : shift === 1 ? 2 : 3;
    const tail = (shift + bytes.length) % 3 === 0 ? 0 : 1;
    const core = b64.slice(head, b64.length - tail);
    if (core.length >= 8) {
      forms.add(core);
      forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  // The complete encoding, padding included, as `echo -n v | base64` prints it.
  forms.add(bytes.toString('base64'));
  forms.add(encodeURIComponent(value));
  forms.add(JSON.stringify(value).slice(1, -1));
  return [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

/**
 * Registers a host's configuration values (its `.env`, its compose environment) as literal
 * secrets, with their encoded forms (`encodedForms`), skipping values that are plainly not secret
 * (`notSecretReason`). A multi-line value (a key in an env var) counts line by line too. Entries
 * are values, or `[name, value]` pairs so that a plain word under a secret name still counts.
 * Returns how many values were taken.
 */
export function addSecretValues(entries: Iterable<string | readonly [name: string, value: string]>): number {
  let taken = 0;
  for (const entry of entries) {
    const [name, value] = typeof entry === 'string' ? [undefined, entry] : entry;
    const parts = value.includes('\n') ? [value, ...value.split(/\r?\n/)] : [value];
    let took = false;
    for (const part of parts) {
      if (notSecretReason(part, name) !== undefined || /^-----(?:BEGIN|END) /.test(part)) continue;
      for (const form of encodedForms(part.trim())) addLiteral(form);
      took = true;
    }
    if (took) taken++;
  }
  return taken;
}

// ---------------------------------------------------------------------------------------------

/**
 * Order matters where one rule would cut another's match short: literals first (masked whole),
 * whole keys and headers before the generic `KEY=value` scanner, which comes last.
 */
const rules: Rule[] = [
  literalSecrets,
  pemBlocks,
  keyBodyLines,
  authSchemes,
  authorizationHeader,
  webhooks,
  notificationUrls,
  urlCredentials,
  vendorTokens,
  toolPasswords,
  userPassword,
  optionArgs,
  redisConf,
  keyValues,
];

export function redact(text: string): string {
  let out = text;
  for (const rule of rules) out = rule(out);
  return out;
}
