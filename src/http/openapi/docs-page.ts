import type { OpenApiDocument } from './openapi-document.ts';

/** Served with the page: only its own inline style, nothing fetched from anywhere. */
export const docsPageSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'";

/**
 * The OpenAPI document as one readable HTML page (`GET /docs`): every operation with its
 * summary, description, parameters, request schema, responses and a curl line. Rendered on
 * the server from the document itself, so it cannot drift from it and needs no script, CDN
 * or network (a Swagger UI bundle would be ~1 MB of JavaScript for the same information).
 *
 * @example
 * c.html(renderDocsPage(buildOpenApiDocument()));
 */
export function renderDocsPage(document: OpenApiDocument): string {
  const operations = Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    (['get', 'post', 'put', 'patch', 'delete'] as const).flatMap((method) => {
      const operation = (item as Record<string, Operation | undefined>)[method];
      return operation === undefined ? [] : [{ path, method, operation }];
    }),
  );
  const sections = operations.map(({ path, method, operation }) => {
    const id = `${method}-${path.replace(/[^a-z0-9]+/gi, '-')}`;
    const parameters = operation.parameters ?? [];
    const body = operation.requestBody?.content?.['application/json']?.schema;
    return `<section id="${id}" aria-labelledby="${id}-title">
<h2 id="${id}-title"><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h2>
<p class="summary">${escapeHtml(operation.summary ?? '')}</p>
${operation.description === undefined ? '' : `<p>${inlineCode(operation.description)}</p>`}
${
  parameters.length === 0
    ? ''
    : `<h3>Query parameters</h3><div class="scroll"><table><thead><tr><th scope="col">Name</th><th scope="col">Required</th><th scope="col">Description</th></tr></thead><tbody>${parameters
        .map(
          (parameter) =>
            `<tr><td><code>${escapeHtml(parameter.name)}</code></td><td>${parameter.required ? 'yes' : 'no'}</td><td>${escapeHtml(parameter.schema?.description ?? '')}</td></tr>`,
        )
        .join('')}</tbody></table></div>`
}
${body === undefined ? '' : requestBodySection(resolve(document, body))}
<h3>Responses</h3><ul>${Object.entries(operation.responses ?? {})
      .map(
        ([status, response]) =>
          `<li><strong>${escapeHtml(status)}</strong> ${inlineCode(response.description ?? '')} <span class="types">${Object.keys(
            response.content ?? {},
          )
            .map(escapeHtml)
            .join(', ')}</span></li>`,
      )
      .join('')}</ul>
<h3>Try it</h3><pre><code>${escapeHtml(curlExample(method, path, operation))}</code></pre>
</section>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(document.info.title)} API</title>
<style>
:root { color-scheme: light dark; --accent: #1d4ed8; }
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 0 auto; padding: 1rem; }
pre { overflow-x: auto; padding: 0.75rem; border: 1px solid #8884; border-radius: 6px; font-size: 0.85rem; }
code { font-family: ui-monospace, monospace; }
.scroll { overflow-x: auto; } table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #8884; padding: 0.25rem 0.5rem; text-align: left; }
section { border-top: 1px solid #8886; margin-top: 2rem; }
.method { font-size: 0.8em; padding: 0.1em 0.4em; border-radius: 4px; color: #fff; background: #4b5563; }
.method.post { background: #166534; } .method.get { background: #1e40af; }
.types { color: #6b7280; font-size: 0.9em; }
nav ul { columns: 2; column-gap: 2.5rem; } @media (max-width: 40rem) { nav ul { columns: 1; } }
a { color: var(--accent); } @media (prefers-color-scheme: dark) { :root { --accent: #93c5fd; } }
</style>
</head>
<body>
<header><h1>${escapeHtml(document.info.title)} API</h1>
<p>${inlineCode(document.info.description ?? '')}</p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(document.openapi)}). The chat page: <a href="/">/</a>.</p></header>
<nav aria-label="Endpoints"><ul>${operations
    .map(
      ({ path, method, operation }) =>
        `<li><a href="#${method}-${path.replace(/[^a-z0-9]+/gi, '-')}">${method.toUpperCase()} ${escapeHtml(path)}</a> — ${escapeHtml(operation.summary ?? '')}</li>`,
    )
    .join('')}</ul></nav>
<main>${sections.join('\n')}</main>
</body>
</html>`;
}

interface Operation {
  summary?: string;
  description?: string;
  parameters?: { name: string; required?: boolean; schema?: { description?: string } }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, unknown> }>;
}

/** Inlines `$ref`s to components, so each request body reads on its own. */
function resolve(document: OpenApiDocument, schema: unknown, depth = 0): unknown {
  if (depth > 20 || schema === null || typeof schema !== 'object') return schema;
  if (Array.isArray(schema)) return schema.map((item) => resolve(document, item, depth + 1));
  const ref = (schema as { $ref?: unknown }).$ref;
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
    const name = ref.slice('#/components/schemas/'.length);
    return resolve(document, document.components?.schemas?.[name], depth + 1);
  }
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [key, resolve(document, value, depth + 1)]),
  );
}

/** The body's fields as a table, then the whole JSON Schema behind a disclosure. */
function requestBodySection(schema: unknown): string {
  const { properties = {}, required = [] } = schema as {
    properties?: Record<string, SchemaNode>;
    required?: string[];
  };
  const rows = Object.entries(properties)
    .map(
      ([name, field]) =>
        `<tr><td><code>${escapeHtml(name)}</code></td><td>${escapeHtml(typeName(field))}</td><td>${required.includes(name) ? 'yes' : 'no'}</td><td>${escapeHtml([field.description, constraints(field)].filter(Boolean).join(' '))}</td></tr>`,
    )
    .join('');
  return `<h3>Request body</h3>
${(schema as SchemaNode).description === undefined ? '' : `<p>${inlineCode((schema as SchemaNode).description ?? '')}</p>`}
<div class="scroll"><table><thead><tr><th scope="col">Field</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Description</th></tr></thead><tbody>${rows}</tbody></table></div>
<details><summary>JSON Schema</summary><pre><code>${escapeHtml(JSON.stringify(schema, null, 2))}</code></pre></details>`;
}

interface SchemaNode {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: SchemaNode[];
  items?: SchemaNode;
  description?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  maxItems?: number;
}

function typeName(node: SchemaNode): string {
  if (node.enum !== undefined) return node.enum.map((value) => JSON.stringify(value)).join(' | ');
  if (node.anyOf !== undefined) return node.anyOf.map(typeName).join(' | ');
  if (node.type === 'array') return `${node.items === undefined ? 'any' : typeName(node.items)}[]`;
  if (Array.isArray(node.type)) return node.type.join(' | ');
  return node.type ?? 'any';
}

function constraints(node: SchemaNode): string {
  const parts = [
    node.minimum === undefined ? '' : `min ${node.minimum}`,
    node.maximum === undefined ? '' : `max ${node.maximum}`,
    node.maxLength === undefined ? '' : `at most ${node.maxLength} characters`,
    node.maxItems === undefined ? '' : `at most ${node.maxItems} items`,
  ].filter(Boolean);
  return parts.length === 0 ? '' : `(${parts.join(', ')})`;
}

function curlExample(method: string, path: string, operation: Operation): string {
  const url = `http://127.0.0.1:8787${path}`;
  if (method === 'get') {
    const required = (operation.parameters ?? []).filter((parameter) => parameter.required);
    const query = required.map((parameter) => `${parameter.name}=vacuum`).join('&');
    return `curl '${url}${query === '' ? '' : `?${query}`}'`;
  }
  const bodies: Record<string, string> = {
    '/v1/answer': '{"question": "What does VACUUM do?"}',
    '/v1/chat/completions':
      '{"model": "streamrag", "stream": true, "messages": [{"role": "user", "content": "What does VACUUM do?"}]}',
    '/api/chat':
      '{"messages": [{"id": "1", "role": "user", "parts": [{"type": "text", "text": "What does VACUUM do?"}]}]}',
  };
  return `curl -N ${url} -H 'content-type: application/json' -d '${bodies[path] ?? '{}'}'`;
}

/** Backticked spans as <code>, the rest escaped. */
function inlineCode(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
