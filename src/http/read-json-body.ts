import { HttpError } from './http-error.ts';

/**
 * The request's JSON body, or a 415 (not JSON) / 400 (empty or malformed) that says so.
 * The size limit is enforced before this, by the body-limit middleware.
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  const contentType = request.headers.get('content-type') ?? '';
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
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
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(
      400,
      'invalid_request',
      `The body is not valid JSON: ${(error as Error).message}`,
    );
  }
}
