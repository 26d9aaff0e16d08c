/** Shared value types: plain data that crosses module (and worker-thread) boundaries. */

export type SearchMode = 'hybrid' | 'vector' | 'text';
export const searchModes: readonly SearchMode[] = ['hybrid', 'vector', 'text'];

/** Metadata equality filter: every key must equal the given JSON value. */
export type MetadataFilter = Record<string, string | number | boolean | null>;

export interface SearchQuery {
  /** The question as text; used by full-text search. */
  text: string;
  /** The question's embedding; required for `vector` and `hybrid`. */
  embedding?: number[];
  mode: SearchMode;
  k: number;
  collection?: string;
  filter?: MetadataFilter;
}

export interface Hit {
  id: string;
  content: string;
  documentId: string;
  title: string | null;
  source: string;
  ordinal: number;
  /** vector: cosine similarity; text: ts_rank_cd; hybrid: reciprocal-rank-fusion score. */
  score: number;
}

export interface DocumentInput {
  collection: string;
  source: string;
  title: string | null;
  metadata: Record<string, unknown>;
  /** Hash of everything that determines the stored chunks; unchanged hash → skip. */
  contentHash: string;
}

export interface ChunkInput {
  content: string;
  embedding: number[];
}

export type WriteStatus = 'added' | 'updated' | 'unchanged';

export interface StoredDocument {
  id: string;
  collection: string;
  source: string;
  title: string | null;
  metadata: Record<string, unknown>;
  contentHash: string;
  chunkCount: number;
  createdAt: string;
  updatedAt: string;
}

/** Which embedder a database was built with; vectors of another embedder are meaningless there. */
export interface EmbedderIdentity {
  name: string;
  dimensions: number;
}
