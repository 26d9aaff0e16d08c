/**
 * A DOM element with text and attributes, without innerHTML: answer text, titles and snippets
 * come from documents and models, so they are only ever set as text.
 *
 * @example
 * createElement('p', { className: 'hint', text: 'Enter sends' });
 */
export function createElement<Tag extends keyof HTMLElementTagNameMap>(
  tag: Tag,
  options: { className?: string; text?: string; attributes?: Record<string, string> } = {},
  children: readonly Node[] = [],
): HTMLElementTagNameMap[Tag] {
  const element = document.createElement(tag);
  if (options.className !== undefined) element.className = options.className;
  if (options.text !== undefined) element.textContent = options.text;
  for (const [name, value] of Object.entries(options.attributes ?? {})) {
    element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
}
