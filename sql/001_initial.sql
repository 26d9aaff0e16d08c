-- streamrag schema, version 1.
-- {{dimensions}} is replaced by the embedding dimension of the database's embedder when the
-- database is created (a validated integer); it is fixed from then on.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE streamrag_settings (
  key text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE documents (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  collection text NOT NULL,
  source text NOT NULL,
  title text,
  metadata jsonb NOT NULL DEFAULT '{}',
  content_hash text NOT NULL,
  chunk_count integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT documents_collection_source_key UNIQUE (collection, source)
);

-- Metadata equality filters are containment tests (metadata @> '{"k": "v"}').
CREATE INDEX documents_metadata_idx ON documents USING gin (metadata jsonb_path_ops);

CREATE TABLE chunks (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  document_id bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  ordinal integer NOT NULL,
  content text NOT NULL,
  embedding vector({{dimensions}}) NOT NULL,
  search_vector tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
  CONSTRAINT chunks_document_ordinal_key UNIQUE (document_id, ordinal)
);

CREATE INDEX chunks_embedding_idx ON chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX chunks_search_vector_idx ON chunks USING gin (search_vector);
