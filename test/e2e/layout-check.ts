/**
 * Layout checks that axe-core does not make, computed in the page from the rendered boxes:
 *  - every visible form control (input, select, textarea) has a visible boundary: a border side
 *    or a box-shadow with ≥ 3:1 contrast against the background around it, or a background of its
 *    own with ≥ 3:1 contrast (WCAG 2.1 SC 1.4.11). Bootstrap Italia draws the bottom border only
 *    for `input[type=text|email|date|…]`: an input without `type` gets none. Checkboxes and radios
 *    are drawn by their label's ::before/::after, which are checked instead.
 *  - no label's text overlaps any other text (headings, legends, other labels, paragraphs) or a
 *    control's box (e.g. an absolutely positioned Bootstrap Italia label pushed up into the heading above).
 *  - every element that scrolls sideways (a wide table or chart on a phone) can take the keyboard's
 *    focus, so that what it hides can be scrolled into view without a mouse (WCAG 2.1.1).
 * Closed <details> are opened first, so the controls they hide are checked too, and two frames
 * pass before the checks (the page's ResizeObservers answer the new size or the opened details).
 */
import type { Page } from 'playwright-core';

export interface LayoutProblem {
  kind: 'no-boundary' | 'overlap' | 'unreachable-scroll';
  /** A short description of the element(s): tag#id "text". */
  what: string;
}

export async function layoutProblems(page: Page): Promise<LayoutProblem[]> {
  // tsx (esbuild keepNames) wraps named functions in __name(): give the page a no-op one.
  await page.evaluate('globalThis.__name ??= (f) => f');
  await page.evaluate(() => {
    for (const d of Array.from(document.querySelectorAll('details'))) d.open = true;
    return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  });
  return page.evaluate(() => {
    const problems: LayoutProblem[] = [];

    type Rgba = [number, number, number, number];
    const parseColor = (s: string): Rgba | null => {
      const m = /rgba?\(([^)]+)\)/.exec(s);
      if (!m) return null;
      const p = m[1]!.split(/[\s,/]+/).filter(Boolean).map(Number);
      return [p[0]!, p[1]!, p[2]!, p.length > 3 ? p[3]! : 1];
    };
    const luminance = ([r, g, b]: Rgba): number => {
      const f = (c: number) => {
        const v = c / 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const contrast = (a: Rgba, b: Rgba): number => {
      const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p) as [number, number];
      return (x + 0.05) / (y + 0.05);
    };
    const blend = (top: Rgba, under: Rgba): Rgba => {
      const a = top[3];
      return [top[0] * a + under[0] * (1 - a), top[1] * a + under[1] * (1 - a), top[2] * a + under[2] * (1 - a), 1];
    };
    /** The opaque colour behind an element: the first ancestor with a background, blended down to white. */
    const backdrop = (el: Element | null): Rgba => {
      const layers: Rgba[] = [];
      for (let e = el; e; e = e.parentElement) {
        const c = parseColor(getComputedStyle(e).backgroundColor);
        if (c && c[3] > 0) {
          layers.push(c);
          if (c[3] >= 1) break;
        }
      }
      return layers.reduceRight<Rgba>((under, top) => blend(top, under), [255, 255, 255, 1]);
    };
    const describe = (el: Element): string => {
      const id = el.id ? `#${el.id}` : '';
      const name = el.getAttribute('name') ? `[name=${el.getAttribute('name')}]` : '';
      const label = el.id ? document.querySelector(`label[for="${CSS.escape(el.id)}"]`)?.textContent : null;
      const text = (label ?? el.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 50);
      return `${el.tagName.toLowerCase()}${id}${name}${text ? ` "${text}"` : ''}`;
    };
    const visible = (el: Element): boolean => {
      if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return false;
      const r = el.getBoundingClientRect();
      if (r.width <= 2 || r.height <= 2) return false;
      // Visually hidden (clip / off-screen) elements.
      if (r.right < 0 || r.bottom < -window.scrollY || r.left > document.documentElement.scrollWidth) return false;
      const cs = getComputedStyle(el);
      if (cs.clip && cs.clip !== 'auto' && /rect\(0(px)?,? 0(px)?,? 0(px)?,? 0(px)?\)|rect\(1px/.test(cs.clip)) return false;
      if (cs.clipPath && cs.clipPath.startsWith('inset(50%')) return false;
      return true;
    };
    /** Whether this (pseudo-)element style draws a boundary distinguishable from `around`. */
    const hasBoundary = (cs: CSSStyleDeclaration, around: Rgba): boolean => {
      for (const side of ['Top', 'Right', 'Bottom', 'Left'] as const) {
        const w = parseFloat(cs.getPropertyValue(`border-${side.toLowerCase()}-width`));
        const style = cs.getPropertyValue(`border-${side.toLowerCase()}-style`);
        const c = parseColor(cs.getPropertyValue(`border-${side.toLowerCase()}-color`));
        if (w >= 1 && style !== 'none' && style !== 'hidden' && c && c[3] > 0 && contrast(blend(c, around), around) >= 3) return true;
      }
      if (cs.boxShadow && cs.boxShadow !== 'none') {
        for (const shadow of cs.boxShadow.split(/,(?![^(]*\))/)) {
          const c = parseColor(shadow);
          const lengths = shadow.replace(/rgba?\([^)]*\)/, '').match(/-?[\d.]+px/g)?.map(parseFloat) ?? [];
          if (c && c[3] > 0 && lengths.some((l) => l !== 0) && !shadow.includes('inset 0px 0px 0px 0px') && contrast(blend(c, around), around) >= 3) return true;
        }
      }
      const bg = parseColor(cs.backgroundColor);
      return !!bg && bg[3] > 0 && contrast(blend(bg, around), around) >= 3;
    };

    const controls = Array.from(document.querySelectorAll('input, select, textarea')).filter((el) => {
      const type = (el.getAttribute('type') ?? '').toLowerCase();
      return !['hidden', 'submit', 'button', 'reset', 'image'].includes(type);
    });
    for (const el of controls) {
      const type = (el.getAttribute('type') ?? '').toLowerCase();
      if (type === 'checkbox' || type === 'radio') {
        // Bootstrap Italia hides the native box and draws it with the label's pseudo-elements.
        if (visible(el)) {
          if (!hasBoundary(getComputedStyle(el), backdrop(el.parentElement))) problems.push({ kind: 'no-boundary', what: describe(el) });
          continue;
        }
        const label = el.id ? document.querySelector(`label[for="${CSS.escape(el.id)}"]`) : null;
        if (!label || !visible(label)) continue;
        const around = backdrop(label);
        const drawn = ['::before', '::after'].some((p) => {
          const cs = getComputedStyle(label, p);
          return cs.content !== 'none' && cs.display !== 'none' && hasBoundary(cs, around);
        });
        if (!drawn) problems.push({ kind: 'no-boundary', what: describe(el) });
        continue;
      }
      if (!visible(el)) continue;
      const around = backdrop(el.parentElement);
      // A bare file input is drawn as the browser's "choose file" button.
      const fileButton = type === 'file' && hasBoundary(getComputedStyle(el, '::file-selector-button'), around);
      if (!fileButton && !hasBoundary(getComputedStyle(el), around)) problems.push({ kind: 'no-boundary', what: describe(el) });
    }

    // Overlaps: the text of each visible label against any other text on the page (headings,
    // legends, other labels, paragraphs) and against the box of every control.
    const SKIP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'SELECT', 'OPTION', 'TEXTAREA', 'TEMPLATE', 'TITLE']);
    const texts: { el: Element; rects: DOMRect[] }[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || !n.textContent?.trim() || SKIP.has(el.tagName) || el.closest('svg')) continue;
      const range = document.createRange();
      range.selectNodeContents(n);
      const rects = Array.from(range.getClientRects()).filter((r) => r.width > 1 && r.height > 1);
      if (rects.length && visible(el)) texts.push({ el, rects });
    }
    const labels = Array.from(document.querySelectorAll('label')).filter(visible);
    const boxes = controls.filter(visible);
    const TOLERANCE = 2;
    const intersects = (a: DOMRect, b: DOMRect): boolean =>
      Math.min(a.right, b.right) - Math.max(a.left, b.left) > TOLERANCE && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > TOLERANCE;
    const seen = new Set<string>();
    const report = (a: Element, b: Element) => {
      const [x, y] = [describe(a), describe(b)].sort() as [string, string];
      const key = `${x} / ${y}`;
      if (!seen.has(key)) {
        seen.add(key);
        problems.push({ kind: 'overlap', what: `${describe(a)} / ${describe(b)}` });
      }
    };
    for (const label of labels) {
      const mine = texts.filter((x) => label.contains(x.el)).flatMap((x) => x.rects);
      if (!mine.length) continue;
      for (const other of texts) {
        if (label.contains(other.el)) continue;
        if (other.rects.some((r) => mine.some((m) => intersects(m, r)))) report(label, other.el.closest('label') ?? other.el);
      }
      for (const c of boxes) {
        if (label.contains(c)) continue;
        const box = c.getBoundingClientRect();
        if (mine.some((m) => intersects(m, box))) report(label, c);
      }
    }

    // Sideways scrolling that the keyboard cannot reach: an element (not the page itself) whose
    // content is wider than its box and that scrolls, which is not focusable, and which holds text
    // out of view that is not inside a link or control (tabbing to one scrolls it into view: a row
    // of tabs that are all links is reachable, a table's text columns are not).
    const FOCUSABLE = 'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])';
    for (const el of Array.from(document.body.querySelectorAll('*'))) {
      if (el.scrollWidth <= el.clientWidth + 1 || (el as HTMLElement).tabIndex >= 0 || !visible(el)) continue;
      const overflow = getComputedStyle(el).overflowX;
      if (overflow !== 'auto' && overflow !== 'scroll') continue;
      const box = el.getBoundingClientRect();
      let hidden = false;
      const inside = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let n = inside.nextNode(); n && !hidden; n = inside.nextNode()) {
        const parent = n.parentElement;
        if (!parent || !n.textContent?.trim() || SKIP.has(parent.tagName) || parent.closest(FOCUSABLE)) continue;
        if (!parent.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
        const range = document.createRange();
        range.selectNodeContents(n);
        hidden = Array.from(range.getClientRects()).some((r) => r.width > 1 && (r.right > box.right + 1 || r.left < box.left - 1));
      }
      // a picture (a chart) cut off by the box counts as much as text
      hidden ||= Array.from(el.querySelectorAll('img, svg, canvas, video')).some((m) => {
        if (m.parentElement?.closest('svg') || m.closest(FOCUSABLE)) return false;
        const r = m.getBoundingClientRect();
        return r.width > 1 && (r.right > box.right + 1 || r.left < box.left - 1);
      });
      if (hidden) problems.push({ kind: 'unreachable-scroll', what: describe(el) });
    }
    return problems;
  });
}
