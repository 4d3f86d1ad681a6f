/** View model of a published news item on the public pages, the home and "Il mio Comune" (pure). */
import type { PublishedNews } from './news-repository.js';

/** "Comune di Termoli" → "Termoli"; the province keeps its name. */
export const newsSourceName = (n: Pick<PublishedNews, 'enteName' | 'enteKind'>): string =>
  n.enteKind === 'comune' ? n.enteName.replace(/^Comune di /, '') : n.enteName;

export interface NewsCard extends PublishedNews {
  href: string;
  /** Who published it: the comune's bare name, or "S.A.E.L. – Provincia di …". */
  source: string;
  /** The publisher's public page (the comune's page, the home for the province). */
  enteHref: string;
}

export function newsCard(n: PublishedNews): NewsCard {
  return {
    ...n,
    href: `/notizie/${n.id}`,
    source: n.enteKind === 'provincia' ? `S.A.E.L. – ${n.enteName}` : newsSourceName(n),
    enteHref: n.enteKind === 'comune' ? `/comuni/${n.enteIpaCode}` : '/',
  };
}
