/**
 * Retrieval SQL: constant statements, shared by both engines, with values always passed as
 * parameters. Each statement documents its parameters.
 *
 * Vector queries run with hnsw.iterative_scan = relaxed_order (set per connection), so a
 * filtered query keeps scanning the index until it has k matching rows; the relaxed order
 * is restored by sorting the materialised candidates again.
 */

const filters = (collection: string, metadata: string) =>
  `(${collection}::text IS NULL OR d.collection = ${collection}::text)
    AND (${metadata}::text IS NULL OR d.metadata @> ${metadata}::text::jsonb)`;

const hitColumns = `c.id::text AS id, c.content, c.document_id::text AS "documentId",
    d.title, d.source, c.ordinal`;

/**
 * The question as an OR of its stemmed terms: websearch_to_tsquery would AND them, and a
 * natural-language question rarely has every one of its words in a single passage.
 */
const questionTerms = (question: string) => `SELECT (
    SELECT string_agg('''' || replace(replace(lexeme, '\\', '\\\\'), '''', '''''') || '''', ' | ')
    FROM unnest(tsvector_to_array(to_tsvector('english', ${question}::text))) AS lexeme
  )::tsquery AS terms`;

/** $1 embedding, $2 collection or NULL, $3 metadata filter (JSON text) or NULL, $4 k. */
export const vectorSearchSql = `
WITH candidates AS MATERIALIZED (
  SELECT ${hitColumns}, c.embedding <=> $1::vector AS distance
  FROM chunks c JOIN documents d ON d.id = c.document_id
  WHERE ${filters('$2', '$3')}
  ORDER BY c.embedding <=> $1::vector
  LIMIT $4::int
)
SELECT id, content, "documentId", title, source, ordinal, (1 - distance)::float8 AS score
FROM candidates
ORDER BY distance, id`;

/** $1 question, $2 collection or NULL, $3 metadata filter (JSON text) or NULL, $4 k. */
export const textSearchSql = `
WITH question AS (${questionTerms('$1')})
SELECT ${hitColumns}, ts_rank_cd(c.search_vector, question.terms)::float8 AS score
FROM question, chunks c JOIN documents d ON d.id = c.document_id
WHERE c.search_vector @@ question.terms AND ${filters('$2', '$3')}
ORDER BY score DESC, c.id
LIMIT $4::int`;

/**
 * Reciprocal rank fusion (k = 60) of the vector and full-text candidate lists.
 * $1 embedding, $2 question, $3 collection or NULL, $4 metadata filter or NULL, $5 k,
 * $6 candidates taken from each list.
 */
export const hybridSearchSql = `
WITH question AS (${questionTerms('$2')}),
vector_candidates AS MATERIALIZED (
  SELECT c.id, c.embedding <=> $1::vector AS distance
  FROM chunks c JOIN documents d ON d.id = c.document_id
  WHERE ${filters('$3', '$4')}
  ORDER BY c.embedding <=> $1::vector
  LIMIT $6::int
),
text_candidates AS (
  SELECT c.id, ts_rank_cd(c.search_vector, question.terms) AS rank_score
  FROM question, chunks c JOIN documents d ON d.id = c.document_id
  WHERE c.search_vector @@ question.terms AND ${filters('$3', '$4')}
  ORDER BY rank_score DESC, c.id
  LIMIT $6::int
),
ranked AS (
  SELECT id, row_number() OVER (ORDER BY distance, id) AS rank FROM vector_candidates
  UNION ALL
  SELECT id, row_number() OVER (ORDER BY rank_score DESC, id) AS rank FROM text_candidates
),
fused AS (
  SELECT id, sum(1.0 / (60 + rank))::float8 AS score FROM ranked GROUP BY id
)
SELECT ${hitColumns}, fused.score
FROM fused JOIN chunks c ON c.id = fused.id JOIN documents d ON d.id = c.document_id
ORDER BY fused.score DESC, c.id
LIMIT $5::int`;
