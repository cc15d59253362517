/** One entry of Discord's `_errors` arrays. */
export interface FieldError {
  code: string;
  message: string;
}

/** Discord's nested error object: keys follow the JSON path, leaves carry `_errors`. */
export interface ErrorTree {
  _errors?: FieldError[];
  [key: string]: ErrorTree | FieldError[] | undefined;
}

export type JsonPath = readonly (string | number)[];

/** The JSON body Discord answers with on an error. */
export interface ApiErrorBody {
  code: number;
  message: string;
  errors?: ErrorTree;
}

/** Collects field errors the way Discord nests them in a 50035 "Invalid Form Body". */
export class FormErrors {
  readonly tree: ErrorTree = {};
  readonly flat: string[] = [];

  add(path: JsonPath, code: string, message: string): void {
    let node: ErrorTree = this.tree;
    for (const key of path) {
      const k = String(key);
      let next = node[k];
      if (next === undefined || Array.isArray(next)) {
        next = {};
        node[k] = next;
      }
      node = next;
    }
    (node._errors ??= []).push({ code, message });
    this.flat.push(`${formatPath(path)}[${code}]: ${message}`);
  }

  get empty(): boolean {
    return this.flat.length === 0;
  }
}

/** `["data", "embeds", 0, "title"]` → `data.embeds[0].title`, like discord.js prints it. */
export function formatPath(path: JsonPath): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number' || /^\d+$/.test(key)) out += `[${key}]`;
    else out += out ? `.${key}` : key;
  }
  return out || '(body)';
}

/** An error answer: HTTP status + Discord's JSON error body. `reason` is a readable explanation. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
    readonly reason: string = body.message,
  ) {
    super(reason);
    this.name = 'ApiError';
  }

  get code(): number {
    return this.body.code;
  }
}

export const apiErrors = {
  unauthorized: (reason = 'missing or invalid bot token') =>
    new ApiError(401, { code: 0, message: '401: Unauthorized' }, reason),
  notFound: (reason: string) => new ApiError(404, { code: 0, message: '404: Not Found' }, reason),
  methodNotAllowed: (reason: string) =>
    new ApiError(405, { code: 0, message: '405: Method Not Allowed' }, reason),
  unknownChannel: (id: string) => new ApiError(404, { code: 10003, message: 'Unknown Channel' }, `unknown channel ${id}`),
  unknownGuild: (id: string) => new ApiError(404, { code: 10004, message: 'Unknown Guild' }, `unknown guild ${id}`),
  unknownMember: (id: string) => new ApiError(404, { code: 10007, message: 'Unknown Member' }, `unknown member ${id}`),
  unknownMessage: (reason: string) => new ApiError(404, { code: 10008, message: 'Unknown Message' }, reason),
  unknownUser: (id: string) => new ApiError(404, { code: 10013, message: 'Unknown User' }, `unknown user ${id}`),
  unknownWebhook: (reason: string) => new ApiError(404, { code: 10015, message: 'Unknown Webhook' }, reason),
  unknownApplication: (id: string) =>
    new ApiError(404, { code: 10002, message: 'Unknown Application' }, `unknown application ${id}`),
  unknownInteraction: (reason: string) =>
    new ApiError(404, { code: 10062, message: 'Unknown interaction' }, reason),
  unknownCommand: (id: string) =>
    new ApiError(404, { code: 10063, message: 'Unknown application command' }, `unknown application command ${id}`),
  entityTooLarge: (reason: string) =>
    new ApiError(413, { code: 40005, message: 'Request entity too large' }, reason),
  alreadyAcknowledged: (reason: string) =>
    new ApiError(400, { code: 40060, message: 'Interaction has already been acknowledged.' }, reason),
  cannotEditOthers: (reason: string) =>
    new ApiError(403, { code: 50005, message: 'Cannot edit a message authored by another user' }, reason),
  emptyMessage: (reason = 'message has no content, embeds, attachments, components, stickers or poll') =>
    new ApiError(400, { code: 50006, message: 'Cannot send an empty message' }, reason),
  invalidWebhookToken: (reason: string) =>
    new ApiError(401, { code: 50027, message: 'Invalid Webhook Token' }, reason),
  invalidFormBody: (errors: FormErrors) =>
    new ApiError(
      400,
      { code: 50035, message: 'Invalid Form Body', errors: errors.tree },
      errors.flat.join('; '),
    ),
  invalidJson: (reason: string) =>
    new ApiError(400, { code: 50109, message: 'The request body contains invalid JSON.' }, reason),
} as const;
