import { z } from 'zod';
import { searchModes } from '../core/types.ts';
import { HttpError } from './http-error.ts';

/**
 * One schema per endpoint. Messages name the field and say what is wrong, e.g.
 * "k must be a whole number between 1 and 50".
 */

/** The longest question and the longest turn of history, in characters. */
export const maxQuestionLength = 10_000;
export const maxTurnLength = 100_000;
export const maxHistoryTurns = 100;

/** PostgreSQL text cannot hold U+0000; refused here rather than failing in the database. */
export const withoutNul = (value: string) => !value.includes('\u0000');
export const nulMessage = 'must not contain the character U+0000';

const requiredText = (maxLength: number) =>
  z
    .string({
      error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string'),
    })
    .trim()
    .min(1, 'must not be empty')
    .max(maxLength, `must be at most ${maxLength} characters`)
    .refine(withoutNul, nulMessage);

const kRange = (value: number) => Number.isInteger(value) && value >= 1 && value <= 50;
const kMessage = 'must be a whole number between 1 and 50';
const kDescription = 'How many passages to retrieve (1-50).';
/** In a JSON body a number; in a query string, text that reads as one. */
const k = z
  .int({ error: (issue) => (typeof issue.input === 'number' ? kMessage : 'must be a number') })
  .min(1, kMessage)
  .max(50, kMessage)
  .meta({ description: kDescription });
const queryK = z
  .string()
  .regex(/^\s*\d+\s*$/, kMessage)
  .transform(Number)
  .refine(kRange, kMessage)
  .meta({ description: `${kDescription} Default 10.` });

const search = z
  .enum(searchModes as [string, ...string[]], {
    error: `must be one of ${searchModes.join(', ')}`,
  })
  .meta({
    description:
      'vector (HNSW nearest neighbours), text (full-text search) or hybrid (both, fused by rank). Default hybrid.',
  }) as z.ZodType<(typeof searchModes)[number]>;

const filterValue = z.union(
  [z.string().refine(withoutNul, nulMessage), z.number(), z.boolean(), z.null()],
  { error: 'values must be strings, numbers, booleans or null' },
);

const filter = z
  .record(z.string(), filterValue, { error: 'must be an object of metadata values' })
  .refine((value) => Object.keys(value).every(withoutNul), `keys ${nulMessage}`)
  .refine((value) => Object.keys(value).length <= 20, 'may have at most 20 keys')
  .meta({
    description:
      'Only passages whose document metadata has these values (at most 20 keys), e.g. {"lang": "en"}.',
  });

const historyTurn = z.strictObject(
  {
    role: z.enum(['user', 'assistant'], { error: 'must be "user" or "assistant"' }),
    content: z
      .string({ error: 'must be a string' })
      .max(maxTurnLength, `must be at most ${maxTurnLength} characters`)
      .refine(withoutNul, nulMessage),
  },
  { error: 'must be an object with role and content' },
);

/**
 * What to search, in every answering body (ours, and as extra fields of the OpenAI and AI SDK
 * bodies): all optional.
 */
export const retrievalFields = {
  collection: requiredText(200)
    .meta({ description: 'Search only this collection (default: every collection).' })
    .optional(),
  k: k.optional(),
  filter: filter.optional(),
  search: search.optional(),
};

/** `POST /v1/answer` body. Unknown fields are refused, so a misspelt option is not ignored. */
export const answerRequestSchema = z
  .strictObject(
    {
      question: requiredText(maxQuestionLength).meta({ description: 'The question to answer.' }),
      ...retrievalFields,
      history: z
        .array(historyTurn, { error: 'must be an array of { role, content }' })
        .max(maxHistoryTurns, `may have at most ${maxHistoryTurns} turns`)
        .meta({ description: 'Earlier turns of the conversation, oldest first.' })
        .optional(),
    },
    { error: 'must be a JSON object' },
  )
  .meta({ id: 'AnswerRequest' });

/** `GET /v1/search` query string. `mode` is accepted as another name for `search`. */
export const searchQuerySchema = z
  .strictObject({
    q: requiredText(maxQuestionLength).meta({ description: 'The search text.' }),
    k: queryK.optional(),
    collection: requiredText(200).optional(),
    search: search.optional(),
    mode: search.meta({ description: 'Another name for search.' }).optional(),
    filter: z
      .string()
      .transform((text, context) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          context.addIssue({ code: 'custom', message: 'must be a JSON object' });
          return z.NEVER;
        }
      })
      .pipe(filter)
      .meta({ description: 'A metadata filter as a JSON object, e.g. {"lang":"en"}.' })
      .optional(),
  })
  .refine(
    (query) =>
      query.mode === undefined || query.search === undefined || query.mode === query.search,
    {
      path: ['mode'],
      message: 'and search disagree; give one of them',
    },
  );

/**
 * Validates `input`, throwing a 400 that names the first bad field.
 *
 * @example
 * const body = parseOrThrow(answerRequestSchema, await readJsonBody(request));
 */
export function parseOrThrow<Schema extends z.ZodType>(
  schema: Schema,
  input: unknown,
): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = innermost(result.error.issues[0]);
  const param = issue === undefined || issue.path.length === 0 ? undefined : formatPath(issue.path);
  throw new HttpError(400, 'invalid_request', describeIssue(issue), {
    ...(param === undefined ? {} : { param }),
  });
}

/**
 * For a value that matched none of a union's options: the option that got furthest into the
 * value, so `[{ type: 'image_url' }]` reads "content[0].type must be "text"", not "must be a
 * string or an array". The union's own message when every option failed at the top.
 */
function innermost(issue: z.core.$ZodIssue | undefined): z.core.$ZodIssue | undefined {
  if (issue?.code !== 'invalid_union') return issue;
  let deepest: z.core.$ZodIssue | undefined;
  for (const option of issue.errors) {
    const first = option[0];
    if (first !== undefined && first.path.length > (deepest?.path.length ?? 0)) deepest = first;
  }
  if (deepest === undefined) return issue;
  return innermost({ ...deepest, path: [...issue.path, ...deepest.path] });
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'Invalid request';
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length === 0 ? '' : ` in ${formatPath(issue.path)}`;
    return `Unknown field${issue.keys.length > 1 ? 's' : ''}${where}: ${issue.keys.join(', ')}`;
  }
  if (issue.path.length === 0) return `The body ${issue.message}`;
  return `${formatPath(issue.path)} ${issue.message}`;
}

/** history[2].content, filter.lang */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}
