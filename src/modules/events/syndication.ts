/**
 * RSS 2.0 and Atom 1.0 (RFC 4287) documents, built as a DOM with @xmldom/xmldom and serialised by
 * its XMLSerializer (escaping of text and attributes is the library's, not ours). Characters XML
 * 1.0 does not allow (C0 controls other than tab and newlines) are removed from every text.
 */
import { DOMImplementation, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';

export interface FeedItem {
  /** Stable id (Atom `id`, RSS `guid`): an absolute URL or a `tag:` URI. */
  id: string;
  title: string;
  /** Absolute URL of the item's page. */
  url: string;
  /** Plain text. */
  summary: string;
  /** ISO instant of publication and of the last update. */
  published: string;
  updated: string;
  category?: string;
  author?: string;
}

export interface FeedInfo {
  title: string;
  description: string;
  /** The feed's own absolute URL (rel=self) and the page it follows (rel=alternate). */
  selfUrl: string;
  pageUrl: string;
  /** Newest update among the items (or now). */
  updated: string;
  language?: string;
  author: string;
}

const ATOM_NS = 'http://www.w3.org/2005/Atom';
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const clean = (s: string) => s.replace(XML_INVALID, '');

function child(doc: Document, parent: Element, name: string, text?: string, attrs: Record<string, string> = {}, ns?: string): Element {
  const el = ns ? doc.createElementNS(ns, name) : doc.createElement(name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, clean(v));
  if (text !== undefined) el.appendChild(doc.createTextNode(clean(text)));
  parent.appendChild(el);
  return el;
}

const serialise = (doc: Document) => `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(doc)}\n`;

/** RSS 2.0 with an `atom:link rel="self"` (as feed validators ask). */
export function rssFeed(info: FeedInfo, items: FeedItem[]): string {
  const doc = new DOMImplementation().createDocument(null, 'rss', null);
  const rss = doc.documentElement!;
  rss.setAttribute('version', '2.0');
  rss.setAttribute('xmlns:atom', ATOM_NS);
  const channel = child(doc, rss, 'channel');
  child(doc, channel, 'title', info.title);
  child(doc, channel, 'link', info.pageUrl);
  child(doc, channel, 'description', info.description);
  child(doc, channel, 'language', info.language ?? 'it-IT');
  child(doc, channel, 'lastBuildDate', new Date(info.updated).toUTCString());
  child(doc, channel, 'atom:link', undefined, { href: info.selfUrl, rel: 'self', type: 'application/rss+xml' }, ATOM_NS);
  for (const it of items) {
    const item = child(doc, channel, 'item');
    child(doc, item, 'title', it.title);
    child(doc, item, 'link', it.url);
    child(doc, item, 'description', it.summary);
    child(doc, item, 'guid', it.id, { isPermaLink: it.id === it.url ? 'true' : 'false' });
    child(doc, item, 'pubDate', new Date(it.published).toUTCString());
    if (it.category) child(doc, item, 'category', it.category);
  }
  return serialise(doc);
}

/** Atom 1.0. */
export function atomFeed(info: FeedInfo, items: FeedItem[]): string {
  const doc = new DOMImplementation().createDocument(ATOM_NS, 'feed', null);
  const feed = doc.documentElement!;
  feed.setAttribute('xml:lang', info.language ?? 'it');
  child(doc, feed, 'title', info.title, {}, ATOM_NS);
  child(doc, feed, 'subtitle', info.description, {}, ATOM_NS);
  child(doc, feed, 'id', info.selfUrl, {}, ATOM_NS);
  child(doc, feed, 'updated', new Date(info.updated).toISOString(), {}, ATOM_NS);
  child(doc, feed, 'link', undefined, { rel: 'self', type: 'application/atom+xml', href: info.selfUrl }, ATOM_NS);
  child(doc, feed, 'link', undefined, { rel: 'alternate', type: 'text/html', href: info.pageUrl }, ATOM_NS);
  const author = child(doc, feed, 'author', undefined, {}, ATOM_NS);
  child(doc, author, 'name', info.author, {}, ATOM_NS);
  for (const it of items) {
    const entry = child(doc, feed, 'entry', undefined, {}, ATOM_NS);
    child(doc, entry, 'title', it.title, {}, ATOM_NS);
    child(doc, entry, 'id', it.id, {}, ATOM_NS);
    child(doc, entry, 'link', undefined, { rel: 'alternate', type: 'text/html', href: it.url }, ATOM_NS);
    child(doc, entry, 'published', new Date(it.published).toISOString(), {}, ATOM_NS);
    child(doc, entry, 'updated', new Date(it.updated).toISOString(), {}, ATOM_NS);
    child(doc, entry, 'summary', it.summary, { type: 'text' }, ATOM_NS);
    if (it.category) child(doc, entry, 'category', undefined, { term: it.category }, ATOM_NS);
    if (it.author) {
      const a = child(doc, entry, 'author', undefined, {}, ATOM_NS);
      child(doc, a, 'name', it.author, {}, ATOM_NS);
    }
  }
  return serialise(doc);
}
