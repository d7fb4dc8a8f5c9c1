// Real parsers for what the renderers write, so that a test judges the output the way its readers do:
// XML 1.0 by saxes (a strict, conforming parser: well-formedness and the characters XML allows), HTML by
// parse5 (the WHATWG parsing algorithm browsers use, with its parse errors), Markdown by micromark with
// GitHub's table extension (mdast), Prometheus' text format by parse-prometheus-text-format.
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmTableFromMarkdown } from 'mdast-util-gfm-table';
import { gfmTable } from 'micromark-extension-gfm-table';
import { parse as parseHtml5 } from 'parse5';
import parsePrometheus from 'parse-prometheus-text-format';
import { SaxesParser } from 'saxes';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own character data (CDATA included), in order. */
  text: string;
}

/** Parses an XML document; throws on anything a conforming parser refuses. */
export function parseXml(xml: string): XmlElement {
  const parser = new SaxesParser();
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  parser.on('error', (error) => {
    throw error;
  });
  parser.on('opentag', (tag) => {
    const element: XmlElement = { name: tag.name, attributes: tag.attributes as Record<string, string>, children: [], text: '' };
    if (stack.length > 0) stack[stack.length - 1].children.push(element);
    else root = element;
    stack.push(element);
  });
  parser.on('text', (text) => {
    if (stack.length > 0) stack[stack.length - 1].text += text;
  });
  parser.on('cdata', (text) => {
    stack[stack.length - 1].text += text;
  });
  parser.on('closetag', () => void stack.pop());
  parser.write(xml).close();
  if (!root) throw new Error('no root element');
  return root;
}

/** Every element of the tree with this name, depth first. */
export function xmlElements(root: XmlElement, name: string): XmlElement[] {
  return [...(root.name === name ? [root] : []), ...root.children.flatMap((c) => xmlElements(c, name))];
}

interface HtmlNode {
  nodeName: string;
  value?: string;
  attrs?: Array<{ name: string; value: string }>;
  childNodes?: HtmlNode[];
  content?: HtmlNode;
}

export interface ParsedHtml {
  /** The names of every element, in document order. */
  elements: string[];
  /** The text a reader sees (text nodes joined, script and style left out). */
  text: string;
  /** Every attribute value, in document order. */
  attributes: string[];
}

/** Parses an HTML document as browsers do; throws on any parse error. */
export function parseHtml(html: string): ParsedHtml {
  const errors: string[] = [];
  const doc = parseHtml5(html, { onParseError: (e) => void errors.push(`${e.code} at ${e.startLine}:${e.startCol}`) }) as unknown as HtmlNode;
  if (errors.length > 0) throw new Error(`HTML parse errors: ${errors.join(', ')}`);
  const out: ParsedHtml = { elements: [], text: '', attributes: [] };
  const walk = (node: HtmlNode) => {
    if (node.nodeName === '#text') out.text += node.value;
    else if (!node.nodeName.startsWith('#')) {
      out.elements.push(node.nodeName);
      out.attributes.push(...(node.attrs ?? []).map((a) => a.value));
    }
    if (node.nodeName === 'style' || node.nodeName === 'script') return;
    for (const child of node.childNodes ?? []) walk(child);
    if (node.content) walk(node.content);
  };
  walk(doc);
  return out;
}

export interface MdNode {
  type: string;
  value?: string;
  depth?: number;
  children?: MdNode[];
}

/** Parses GitHub-flavoured Markdown (CommonMark and tables) into its syntax tree (mdast). */
export function parseMarkdown(md: string): MdNode {
  return fromMarkdown(md, { extensions: [gfmTable()], mdastExtensions: [gfmTableFromMarkdown()] }) as MdNode;
}

/** The text a node shows. */
export function mdText(node: MdNode): string {
  if (node.type === 'text' || node.type === 'inlineCode') return node.value ?? '';
  return (node.children ?? []).map(mdText).join('');
}

/** Every node of a type, depth first. */
export function mdNodes(node: MdNode, type: string): MdNode[] {
  return [...(node.type === type ? [node] : []), ...(node.children ?? []).flatMap((c) => mdNodes(c, type))];
}

/** The tables of a Markdown document as rows of cell texts. */
export function mdTables(md: string): string[][][] {
  return mdNodes(parseMarkdown(md), 'table').map((t) => (t.children ?? []).map((row) => (row.children ?? []).map(mdText)));
}

export interface PrometheusFamily {
  name: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string }>;
}

/** Parses Prometheus' text exposition format. */
export function parsePrometheusText(text: string): PrometheusFamily[] {
  return parsePrometheus(text);
}
