import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';

export interface SplitOptions {
  chunkSize: number;
  chunkOverlap: number;
}

export type TextFormat = 'markdown' | 'text';

/**
 * Splits a document into chunks of at most `chunkSize` characters. Markdown (and HTML, which
 * the loader turns into Markdown) is split at headings first, then paragraphs, sentences, words.
 *
 * @example
 * const split = createSplitter({ chunkSize: 1000, chunkOverlap: 150 });
 * const chunks = await split('# Title\n\nBody…', 'markdown');
 */
export function createSplitter(options: SplitOptions) {
  const markdown = RecursiveCharacterTextSplitter.fromLanguage('markdown', options);
  const text = new RecursiveCharacterTextSplitter(options);
  return async (content: string, format: TextFormat): Promise<string[]> => {
    const splitter = format === 'markdown' ? markdown : text;
    const chunks = await splitter.splitText(content);
    return chunks.map((chunk) => chunk.trim()).filter((chunk) => chunk.length > 0);
  };
}
