import type { IncomingMessage } from 'node:http';
import { apiErrors } from './errors.js';

/** A file uploaded in a multipart request (`files[n]`, `file`, …). */
export interface UploadedFile {
  /** The form field, e.g. `files[0]`. */
  field: string;
  /** n of `files[n]` (the id `attachments[].id` refers to); undefined for other field names. */
  index: number | undefined;
  filename: string;
  contentType: string;
  size: number;
  data: Buffer;
}

export interface ParsedBody {
  kind: 'none' | 'json' | 'multipart' | 'other';
  /** The JSON body, or `payload_json` (plus other text fields) of a multipart body; undefined without a body. */
  json: unknown;
  files: UploadedFile[];
}

export async function readRequestBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw apiErrors.invalidJson(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Parses a request body like Discord: `application/json`, or `multipart/form-data` with
 * `payload_json` and `files[n]` parts (parsed with Node's built-in undici `Request#formData`).
 */
export async function parseRequestBody(raw: Buffer, contentType: string | undefined): Promise<ParsedBody> {
  if (raw.length === 0) return { kind: 'none', json: undefined, files: [] };
  const type = (contentType ?? '').toLowerCase();
  if (type.startsWith('application/json')) {
    return { kind: 'json', json: parseJson(raw.toString('utf8'), 'the body'), files: [] };
  }
  if (type.startsWith('multipart/form-data')) {
    let form: FormData;
    try {
      form = await new Request('http://discord-double.invalid/', {
        method: 'POST',
        headers: { 'content-type': contentType ?? '' },
        body: raw,
      }).formData();
    } catch (error) {
      throw apiErrors.invalidJson(`multipart body could not be parsed: ${(error as Error).message}`);
    }
    let json: Record<string, unknown> | undefined;
    const fields: Record<string, unknown> = {};
    const files: UploadedFile[] = [];
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') {
          const parsed = parseJson(value, 'payload_json');
          json = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
        } else {
          fields[field] = value;
        }
        continue;
      }
      const data = Buffer.from(await value.arrayBuffer());
      const match = /^files\[(\d+)\]$/.exec(field) ?? /^file(\d*)$/.exec(field);
      const index = match ? (match[1] ? Number(match[1]) : 0) : undefined;
      files.push({
        field,
        index,
        filename: value.name,
        contentType: value.type || 'application/octet-stream',
        size: data.length,
        data,
      });
    }
    return { kind: 'multipart', json: { ...fields, ...json }, files };
  }
  return { kind: 'other', json: undefined, files: [] };
}
