/**
 * The little Markdown App IO renders (headings, bold, bullet lists, paragraphs), turned into
 * blocks of plain-text segments for a template — no HTML string, so every value is escaped by
 * Handlebars. Links: bare http(s) URLs. Backslash escapes are removed.
 */

export interface Segment {
  text: string;
  bold?: boolean;
  href?: string;
}
export type Block = { heading: Segment[] } | { paragraph: Segment[] } | { list: Segment[][] };

const URL_RE = /(https?:\/\/[^\s)]+)/g;

function unescape(s: string): string {
  return s.replace(/\\([\\`*_[\]{}()#+\-.!|<>~])/g, '$1');
}

/** Splits on unescaped `**`, alternating plain and bold, then finds URLs in each piece. */
export function inline(line: string): Segment[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\' && i + 1 < line.length) {
      cur += line[i]! + line[i + 1]!;
      i++;
    } else if (line[i] === '*' && line[i + 1] === '*') {
      parts.push(cur);
      cur = '';
      i++;
    } else cur += line[i];
  }
  parts.push(cur);
  const out: Segment[] = [];
  parts.forEach((p, idx) => {
    const bold = idx % 2 === 1;
    for (const piece of unescape(p).split(URL_RE)) {
      if (!piece) continue;
      if (/^https?:\/\//.test(piece)) out.push({ text: piece, href: piece, bold });
      else out.push(bold ? { text: piece, bold } : { text: piece });
    }
  });
  return out;
}

export function markdownBlocks(md: string): Block[] {
  const blocks: Block[] = [];
  for (const chunk of md.replace(/\r\n/g, '\n').split(/\n{2,}/)) {
    const lines = chunk.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
    if (lines.length === 0) continue;
    if (lines.every((l) => /^\s*[-*] /.test(l))) {
      blocks.push({ list: lines.map((l) => inline(l.replace(/^\s*[-*] /, ''))) });
    } else if (lines.length === 1 && /^#{1,6} /.test(lines[0]!)) {
      blocks.push({ heading: inline(lines[0]!.replace(/^#{1,6} /, '')) });
    } else {
      blocks.push({ paragraph: inline(lines.join(' ')) });
    }
  }
  return blocks;
}
