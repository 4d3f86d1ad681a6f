/**
 * What the province's home shows of the events module: the events the SAEL admin featured (not
 * over yet, the soonest first) and the latest news of the SAEL and the comuni.
 */
import type { DbLike } from '../../db/client.js';
import { romeDay } from '../conservazione/dates.js';
import { lastRomeDay } from './occurrences.js';
import { listPublishedNews } from './news-repository.js';
import { newsCard } from './news-view.js';
import { shortDay } from './public-format.js';
import { pictureOf, type Picture } from './public-view.js';
import { listFeaturedEvents } from './repository.js';

export interface FeaturedCard {
  href: string;
  title: string;
  summary: string;
  /** "sab 12 dic", or "In corso fino a dom 20 dic" for an event already under way. */
  when: string;
  startsAt: string;
  comune: string;
  category: string;
  place: string;
  picture: Picture | null;
  /** Always false (a cancelled event is no longer featured); the card partial reads it. */
  cancelled: false;
}

export async function homeHighlights(db: DbLike, now: Date, opts: { featured?: number; news?: number } = {}) {
  const featured: FeaturedCard[] = (await listFeaturedEvents(db, now, { limit: opts.featured ?? 4 })).map((e) => {
    const started = Date.parse(e.nextStartsAt) <= now.getTime();
    return {
      href: `/eventi/${e.id}`,
      title: e.title,
      summary: e.summary,
      when: started && e.recurrence === 'none' ? `In corso fino a ${shortDay(lastRomeDay(e.startsAt, e.endsAt))}` : shortDay(romeDay(new Date(e.nextStartsAt))),
      startsAt: e.nextStartsAt,
      comune: e.enteName.replace(/^Comune di /, ''),
      category: e.categoryName,
      place: e.placeName,
      picture: pictureOf(e, '(min-width: 992px) 25vw, (min-width: 576px) 50vw, 100vw', 480),
      cancelled: false,
    };
  });
  const news = (await listPublishedNews(db, { limit: opts.news ?? 3 })).map(newsCard);
  return { featured, news };
}
