// A small Markdown renderer that builds DOM nodes and never parses HTML: every piece of
// model output ends up in a Text node (textContent), so `<img src=x onerror=...>` in a
// reply is shown as those characters and no element is ever created from model text.
//
// Covers what chat models write: paragraphs, fenced code blocks (also while still open,
// mid-stream), headings, bullet and numbered lists, block quotes, inline `code`, **bold**,
// *italic* and [links](https://...) (http(s) only, opened with rel=noopener).

type Inline = (text: string) => Node[];

/** Renders `markdown` into a fragment of safe DOM nodes. */
export function renderMarkdown(markdown: string, doc: Document = document): DocumentFragment {
  const out = doc.createDocumentFragment();
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const inline: Inline = (text) => renderInline(text, doc);
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)\s*([\w+-]*)\s*$/.exec(line);
    if (fence) {
      // A fenced block runs to its closing fence, or to the end of a reply still streaming.
      const body: string[] = [];
      i++;
      while (i < lines.length && !new RegExp(`^\\s*${fence[1]}\\s*$`).test(lines[i])) body.push(lines[i++]);
      i++;
      const pre = doc.createElement('pre');
      const code = doc.createElement('code');
      if (fence[2]) code.dataset.lang = fence[2];
      code.textContent = body.join('\n');
      pre.append(code);
      out.append(pre);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const h = doc.createElement(`h${Math.min(heading[1].length + 2, 6)}`);
      h.append(...inline(heading[2]));
      out.append(h);
      i++;
      continue;
    }
    const listItem = /^\s*([-*+]|\d+[.)])\s+/;
    if (listItem.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = doc.createElement(ordered ? 'ol' : 'ul');
      while (i < lines.length && listItem.test(lines[i])) {
        const li = doc.createElement('li');
        li.append(...inline(lines[i].replace(listItem, '')));
        list.append(li);
        i++;
      }
      out.append(list);
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quote: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) quote.push(lines[i++].replace(/^\s*>\s?/, ''));
      const bq = doc.createElement('blockquote');
      bq.append(renderMarkdown(quote.join('\n'), doc));
      out.append(bq);
      continue;
    }
    if (line.trim() === '') {
      i++;
      continue;
    }
    // A paragraph: consecutive lines that start no other block, kept as line breaks.
    const para = doc.createElement('p');
    let first = true;
    while (i < lines.length && lines[i].trim() !== '' && !startsBlock(lines[i])) {
      if (!first) para.append(doc.createElement('br'));
      para.append(...inline(lines[i]));
      first = false;
      i++;
    }
    out.append(para);
  }
  return out;
}

function startsBlock(line: string): boolean {
  return /^\s*(```|~~~)/.test(line) || /^#{1,6}\s/.test(line) || /^\s*([-*+]|\d+[.)])\s+/.test(line) || /^\s*>/.test(line);
}

/** Inline spans: `code`, **bold**, *italic* / _italic_, [text](http...). Everything else is text. */
function renderInline(text: string, doc: Document): Node[] {
  const nodes: Node[] = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    if (m.index > last) nodes.push(doc.createTextNode(text.slice(last, m.index)));
    if (m[1] !== undefined) {
      const code = doc.createElement('code');
      code.textContent = m[1];
      nodes.push(code);
    } else if (m[2] !== undefined) {
      const b = doc.createElement('strong');
      b.append(...renderInline(m[2], doc));
      nodes.push(b);
    } else if (m[3] !== undefined || m[4] !== undefined) {
      const em = doc.createElement('em');
      em.append(...renderInline(m[3] ?? m[4], doc));
      nodes.push(em);
    } else {
      nodes.push(link(m[5], m[6], doc));
    }
    last = pattern.lastIndex;
  }
  if (last < text.length) nodes.push(doc.createTextNode(text.slice(last)));
  return nodes;
}

/** A link only for http(s) targets; anything else (javascript:, data:) stays plain text. */
function link(label: string, href: string, doc: Document): Node {
  let url: URL | null = null;
  try {
    url = new URL(href);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return doc.createTextNode(`[${label}](${href})`);
  }
  const a = doc.createElement('a');
  a.href = url.href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.textContent = label;
  return a;
}
