import { HttpError } from './http-error.ts';

/**
 * The request's JSON body, or a 415 (not JSON) / 400 (empty or malformed) that says so.
 * The size limit is enforced before this, by the body-limit middleware.
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  const contentType = request.headers.get('content-type') ?? '';
  const [type = '', ...parameters] = contentType.toLowerCase().split(';');
  const mediaType = type.trim();
  const charset = parameters
    .map((parameter) => parameter.trim())
    .find((parameter) => parameter.startsWith('charset='))
    ?.slice('charset='.length)
    .replaceAll('"', '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `charset=${charset} is not supported; send the JSON body as UTF-8`,
    );
  }
  if (mediaType !== 'application/json' && !mediaType.endsWith('+json')) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      contentType === ''
        ? 'Send the body as JSON with Content-Type: application/json'
        : `Content-Type ${contentType} is not supported; send application/json`,
    );
  }
  const text = await request.text();
  if (text.trim() === '') throw new HttpError(400, 'invalid_request', 'The body is empty');
  try {
    return JSON.parse(text, refuseProtoKeys) as unknown;
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(
      400,
      'invalid_request',
      `The body is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/** A `__proto__` key would be dropped (or worse) by object handling downstream: say so instead. */
function refuseProtoKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') {
    throw new HttpError(400, 'invalid_request', '__proto__ is not allowed as a key');
  }
  return value;
}
