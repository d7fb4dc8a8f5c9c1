// A small XML well-formedness check for the JUnit output (tags balanced and properly nested, attributes
// quoted, only the five predefined entities or character references, one root element).
export function checkWellFormed(xml: string): void {
  const body = xml.replace(/^<\?xml [^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  const token = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->|([^<]+)|(<)/g;
  for (const m of body.matchAll(token)) {
    if (m[6]) throw new Error(`malformed tag at offset ${m.index}: ${body.slice(m.index, m.index! + 40)}`);
    const text = m[5] ?? (m[3] ?? '');
    for (const amp of text.matchAll(/&([^;\s]*);?/g)) {
      if (!/^(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+)$/.test(amp[1]) || !amp[0].endsWith(';')) throw new Error(`bad entity ${amp[0]}`);
    }
    if (m[5] !== undefined) {
      if (stack.length === 0 && m[5].trim() !== '') throw new Error(`text outside the root: ${m[5].slice(0, 40)}`);
      continue;
    }
    if (!m[2]) continue;
    if (m[1]) {
      const open = stack.pop();
      if (open !== m[2]) throw new Error(`</${m[2]}> closes <${open}>`);
    } else {
      if (stack.length === 0) roots++;
      if (!m[4]) stack.push(m[2]);
    }
  }
  if (stack.length) throw new Error(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) throw new Error(`expected one root element, found ${roots}`);
}
