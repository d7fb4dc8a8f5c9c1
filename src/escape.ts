// Text from outside (a peer's close reason, file, host and baseline names, notes, titles, lines of a
// document) made safe for each output, in one place: whatever a string holds, the output still parses, adds
// no markup of its own and shows the text. First, characters that would act rather than show are written
// as escapes (`\n`, `\u001b`): controls (C0, DEL, C1), line and paragraph separators, bidirectional
// overrides and isolates (which reorder what a reader sees), the byte order mark, noncharacters and lone
// surrogates (not text in any encoding). Then each format's own syntax is escaped.

/** Characters that act instead of showing (see above). */
function acts(cp: number): boolean {
  return (
    cp < 0x20 ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069) ||
    cp === 0xfeff ||
    (cp >= 0xd800 && cp <= 0xdfff) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe
  );
}

const SHORT: Record<number, string> = { 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r' };

// the same set, to skip strings with none (most of them) in one test
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const ANY_ACTING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufdd0-\ufdef\ufffe\uffff\ud800-\udfff]|[\u{1fffe}\u{1ffff}\u{2fffe}\u{2ffff}\u{3fffe}\u{3ffff}\u{4fffe}\u{4ffff}\u{5fffe}\u{5ffff}\u{6fffe}\u{6ffff}\u{7fffe}\u{7ffff}\u{8fffe}\u{8ffff}\u{9fffe}\u{9ffff}\u{afffe}\u{affff}\u{bfffe}\u{bffff}\u{cfffe}\u{cffff}\u{dfffe}\u{dffff}\u{efffe}\u{effff}\u{ffffe}\u{fffff}\u{10fffe}\u{10ffff}]/u;

/**
 * `text` with every character that would act shown as an escape: `\t`, `\n`, `\r`, `\u001b`, `\u{10fffe}`
 * (`lines`: line feeds kept, for text that is several lines by nature).
 */
export function visible(text: string, lines = false): string {
  if (!ANY_ACTING.test(text)) return text;
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (!acts(cp) || (lines && cp === 0x0a)) out += ch;
    else out += SHORT[cp] ?? (cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`);
  }
  return out;
}

/** `text` for HTML element content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return visible(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * `text` for XML 1.0 element content or a quoted attribute value (`lines`: line feeds kept, for element
 * content; an attribute value would turn them into spaces).
 */
export function escapeXml(text: string, lines = false): string {
  return visible(text, lines).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/**
 * `text` for Markdown (CommonMark and GitHub's): in a table cell, a heading, a paragraph or after a list
 * marker it shows as written and opens nothing. Backslash-escaped: what opens inline markup (emphasis, code,
 * HTML, entities, table cells, strikethrough, a heading's closing `#`s), and `[` when a link could follow
 * (`](`: the only link that needs no definition, and none is ever written); with `startsBlock` (the text
 * begins a list item's content), also what would open a block there (a quote, a list, a rule, a link
 * definition).
 */
export function escapeMarkdown(text: string, startsBlock = false): string {
  const shown = visible(text);
  const inline = shown
    .replace(startsBlock || shown.includes('](') ? /[\\`*<&|~#[]/g : /[\\`*<&|~#]/g, '\\$&')
    // `_` between two letters or digits can neither open nor close emphasis (snake_case stays as it is)
    .replace(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, '\\_');
  return startsBlock ? inline.replace(/^(\s*)([>+=-])/, '$1\\$2').replace(/^(\s*\d+)([.)])/, '$1\\$2') : inline;
}
