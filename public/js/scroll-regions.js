/*
 * Content wider than the screen scrolls sideways inside its wrapper: Bootstrap Italia's
 * `.table-responsive` (on a phone, most back-office tables) and our `.scroll-x` (a chart kept at a
 * legible size). A mouse or a finger can scroll them; a keyboard user can only if the wrapper can
 * take the focus (WCAG 2.1.1), and a table's text columns or a chart are otherwise out of reach.
 * So a wrapper whose content overflows becomes a focusable, named region (tabindex="0",
 * role="region"; named by `data-scroll-labelledby`, else by the table's caption), which the arrow
 * keys scroll; a wrapper whose content fits is left as it is, with no extra tab stop. Checked
 * again whenever the wrapper or its content resizes (a phone turned sideways, a wider window).
 */
const WRAPPERS = '.table-responsive, .scroll-x';
const MARK = 'data-scroll-region';
let captions = 0;

function name(wrapper) {
  const named = wrapper.getAttribute('data-scroll-labelledby');
  if (named && document.getElementById(named)) return { labelledby: named };
  const caption = wrapper.querySelector('caption');
  if (caption && caption.textContent.trim()) {
    if (!caption.id) caption.id = `scroll-region-caption-${++captions}`;
    return { labelledby: caption.id };
  }
  return { label: wrapper.querySelector('table') ? 'Tabella scorrevole' : 'Contenuto scorrevole' };
}

function update(wrapper) {
  const overflows = wrapper.scrollWidth > wrapper.clientWidth + 1;
  if (overflows && !wrapper.hasAttribute(MARK)) {
    wrapper.setAttribute(MARK, '');
    wrapper.tabIndex = 0;
    wrapper.setAttribute('role', 'region');
    const n = name(wrapper);
    if (n.labelledby) wrapper.setAttribute('aria-labelledby', n.labelledby);
    else wrapper.setAttribute('aria-label', n.label);
  } else if (!overflows && wrapper.hasAttribute(MARK)) {
    for (const a of [MARK, 'tabindex', 'role', 'aria-labelledby', 'aria-label']) wrapper.removeAttribute(a);
  }
}

const wrappers = document.querySelectorAll(WRAPPERS);
if (wrappers.length) {
  const observer = new ResizeObserver((entries) => {
    for (const e of entries) update(e.target.matches(WRAPPERS) ? e.target : e.target.parentElement);
  });
  for (const w of wrappers) {
    observer.observe(w);
    if (w.firstElementChild) observer.observe(w.firstElementChild);
  }
}
