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
 * The question's stemmed terms as two queries: all of them (AND) and any of them (OR).
 * websearch_to_tsquery would only AND them, and a natural-language question rarely has every
 * one of its words in one passage; OR alone matches a third of a corpus on one common word
 * and ranks every match (measured: 131 ms p50 at 50k chunks, docs/benchmarks.md).
 */
const questionTerms = (question: string) => `SELECT
    string_agg(quoted, ' & ')::tsquery AS all_terms,
    string_agg(quoted, ' | ')::tsquery AS any_terms
  FROM (
    SELECT '''' || replace(replace(lexeme, '\\', '\\\\'), '''', '''''') || '''' AS quoted
    FROM unnest(tsvector_to_array(to_tsvector('english', ${question}::text))) AS lexeme
  ) AS terms`;

/**
 * Full-text candidates, best first: up to `limit` passages with every term, then — only when
 * those are fewer than `widenBelow` (a one-time filter, so the wider scan does not run
 * otherwise) — passages with some of them. Ranked by ts_rank_cd on the OR query, so more
 * matched terms rank higher. Needs the `question` CTE; yields `text_candidates (id, tier, score)`.
 */
const textCandidates = (
  collection: string,
  metadata: string,
  limit: string,
  widenBelow: string,
) => `
every_term AS MATERIALIZED (
  SELECT c.id, 0 AS tier, ts_rank_cd(c.search_vector, question.any_terms) AS score
  FROM question, chunks c JOIN documents d ON d.id = c.document_id
  WHERE c.search_vector @@ question.all_terms AND ${filters(collection, metadata)}
  ORDER BY score DESC, c.id
  LIMIT ${limit}::int
),
some_term AS (
  SELECT c.id, 1 AS tier, ts_rank_cd(c.search_vector, question.any_terms) AS score
  FROM question, chunks c JOIN documents d ON d.id = c.document_id
  WHERE (SELECT count(*) FROM every_term) < ${widenBelow}::int
    AND c.search_vector @@ question.any_terms AND NOT c.search_vector @@ question.all_terms
    AND ${filters(collection, metadata)}
  ORDER BY score DESC, c.id
  LIMIT ${limit}::int
),
text_candidates AS (
  SELECT id, tier, score FROM every_term UNION ALL SELECT id, tier, score FROM some_term
)`;

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
WITH question AS (${questionTerms('$1')}),
${textCandidates('$2', '$3', '$4', '$4')}
SELECT ${hitColumns}, t.score::float8 AS score
FROM text_candidates t JOIN chunks c ON c.id = t.id JOIN documents d ON d.id = c.document_id
ORDER BY t.tier, t.score DESC, c.id
LIMIT $4::int`;

/**
 * Reciprocal rank fusion (k = 60) of the vector and full-text candidate lists.
 * $1 embedding, $2 question, $3 collection or NULL, $4 metadata filter or NULL, $5 k,
 * $6 candidates taken from each list. The text list widens from every term to any term only
 * when fewer than k passages have every term: the vector list fills the rest of the candidates,
 * and ranking every passage with one common word is what made hybrid p99 slow (590 ms at 50k).
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
${textCandidates('$3', '$4', '$6', '$5')},
ranked AS (
  SELECT id, row_number() OVER (ORDER BY distance, id) AS rank FROM vector_candidates
  UNION ALL
  SELECT id, row_number() OVER (ORDER BY tier, score DESC, id) AS rank FROM text_candidates
),
fused AS (
  SELECT id, sum(1.0 / (60 + rank))::float8 AS score FROM ranked GROUP BY id
)
SELECT ${hitColumns}, fused.score
FROM fused JOIN chunks c ON c.id = fused.id JOIN documents d ON d.id = c.document_id
ORDER BY fused.score DESC, c.id
LIMIT $5::int`;

/**
 * Every search statement: part of search responses' ETags, so a release that changes how
 * results are found or ranked does not revalidate responses computed by the previous one.
 */
export const searchSqlText = [vectorSearchSql, textSearchSql, hybridSearchSql].join('\n');
