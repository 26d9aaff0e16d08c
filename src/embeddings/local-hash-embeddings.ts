import { Embeddings, type EmbeddingsParams } from '@langchain/core/embeddings';
import { stemmer } from 'stemmer';
import type { EmbedderIdentity } from '../core/types.ts';

/**
 * A deterministic embedder that needs no network and no model files: feature hashing of
 * stemmed words, word bigrams and character trigrams into a fixed number of dimensions,
 * L2-normalised so cosine distance works as with a learned model.
 *
 * Quality: a strong lexical matcher (like BM25 with fuzzy spelling), not a semantic model —
 * "car" does not find "automobile". Use an OpenAI-compatible embedder for semantic search.
 *
 * @example
 * const embeddings = new LocalHashEmbeddings({ dimensions: 384 });
 * const vector = await embeddings.embedQuery('create an index concurrently');
 */
export class LocalHashEmbeddings extends Embeddings {
  readonly dimensions: number;
  readonly identity: EmbedderIdentity;

  constructor(options: { dimensions?: number } & EmbeddingsParams = {}) {
    super(options);
    this.dimensions = options.dimensions ?? 384;
    this.identity = { name: localEmbedderName, dimensions: this.dimensions };
  }

  async embedDocuments(documents: string[]): Promise<number[][]> {
    return documents.map((document) => hashEmbed(document, this.dimensions));
  }

  async embedQuery(document: string): Promise<number[]> {
    return hashEmbed(document, this.dimensions);
  }
}

/** Bump the version whenever the features change: stored vectors would no longer match. */
export const localEmbedderName = 'local-hash-v1';

const wordWeight = 1;
const bigramWeight = 0.5;
const trigramWeight = 0.2;
const tokenPattern = /[\p{L}\p{N}_]+/gu;

/** Hash one text into a unit vector of `dimensions` floats. */
export function hashEmbed(text: string, dimensions: number): number[] {
  const vector = new Float64Array(dimensions);
  let previousStem: string | undefined;
  for (const match of text.toLowerCase().matchAll(tokenPattern)) {
    const token = match[0];
    if (stopWords.has(token)) {
      previousStem = undefined;
      continue;
    }
    const stem = token.length > 3 ? stemmer(token) : token;
    add(vector, hashString(stem, 0x9e3779b1), wordWeight);
    if (previousStem !== undefined) {
      add(vector, hashString(`${previousStem} ${stem}`, 0x85ebca6b), bigramWeight);
    }
    previousStem = stem;
    addTrigrams(vector, token);
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  const result = new Array<number>(dimensions);
  for (let index = 0; index < dimensions; index++) {
    // Round to 6 decimals: keeps the vector text short when it is sent to Postgres.
    result[index] = norm === 0 ? 0 : Math.round(((vector[index] as number) / norm) * 1e6) / 1e6;
  }
  return result;
}

/** Character trigrams of "^token$" catch spelling variants and compound identifiers. */
function addTrigrams(vector: Float64Array, token: string): void {
  const padded = `^${token}$`;
  for (let start = 0; start + 3 <= padded.length; start++) {
    let hash = 0xc2b2ae35;
    for (let offset = start; offset < start + 3; offset++) {
      hash = Math.imul(hash ^ padded.charCodeAt(offset), 0x01000193);
    }
    add(vector, finalise(hash), trigramWeight);
  }
}

/** Signed feature hashing: the sign bit cancels collisions out on average. */
function add(vector: Float64Array, hash: number, weight: number): void {
  const index = (hash >>> 1) % vector.length;
  vector[index] = (vector[index] as number) + (hash & 1 ? weight : -weight);
}

function hashString(text: string, seed: number): number {
  let hash = seed;
  for (let index = 0; index < text.length; index++) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  }
  return finalise(hash);
}

/** murmur3's fmix32: spreads FNV's weak low bits over the whole word. */
function finalise(input: number): number {
  let hash = input;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

const stopWords = new Set(
  (
    'a about above after again against all am an and any are as at be because been before being ' +
    'below between both but by can could did do does doing down during each few for from further ' +
    'had has have having he her here hers herself him himself his how i if in into is it its itself ' +
    'just me more most my myself no nor not now of off on once only or other our ours ourselves out ' +
    'over own same she should so some such than that the their theirs them themselves then there ' +
    'these they this those through to too under until up very was we were what when where which ' +
    'while who whom why will with would you your yours yourself yourselves'
  ).split(' '),
);

/**
 * The stemmed content words of a text, stop words left out: what the local embedder hashes,
 * also used to score sentences for the extractive answer.
 *
 * @example
 * contentStems('How are indexes built?'); // ['index', 'built']
 */
export function contentStems(text: string): string[] {
  const stems: string[] = [];
  for (const match of text.toLowerCase().matchAll(tokenPattern)) {
    const token = match[0];
    if (stopWords.has(token)) continue;
    stems.push(token.length > 3 ? stemmer(token) : token);
  }
  return stems;
}
