/*
 * Tables wider than the screen scroll sideways inside Bootstrap Italia's `.table-responsive` (on a
 * phone, most back-office tables). A mouse or a finger can scroll them; a keyboard user can only
 * if the wrapper can take the focus (WCAG 2.1.1), and columns holding only text are otherwise out
 * of reach. So a wrapper whose table overflows becomes a focusable region named by the table's
 * caption (tabindex="0", role="region", aria-labelledby), which the arrow keys scroll; a wrapper
 * whose table fits is left as it is, with no extra tab stop. Checked again whenever either resizes
 * (a phone turned sideways, a wider window).
 */
const MARK = 'data-scroll-region';
let captions = 0;

function label(wrapper) {
  const caption = wrapper.querySelector('caption');
  if (caption && caption.textContent.trim()) {
    if (!caption.id) caption.id = `scroll-region-caption-${++captions}`;
    return { labelledby: caption.id };
  }
  return { label: 'Tabella scorrevole' };
}

function update(wrapper) {
  const overflows = wrapper.scrollWidth > wrapper.clientWidth + 1;
  if (overflows && !wrapper.hasAttribute(MARK)) {
    wrapper.setAttribute(MARK, '');
    wrapper.tabIndex = 0;
    wrapper.setAttribute('role', 'region');
    const name = label(wrapper);
    if (name.labelledby) wrapper.setAttribute('aria-labelledby', name.labelledby);
    else wrapper.setAttribute('aria-label', name.label);
  } else if (!overflows && wrapper.hasAttribute(MARK)) {
    for (const a of [MARK, 'tabindex', 'role', 'aria-labelledby', 'aria-label']) wrapper.removeAttribute(a);
  }
}

const wrappers = document.querySelectorAll('.table-responsive');
if (wrappers.length) {
  const observer = new ResizeObserver((entries) => {
    for (const e of entries) update(e.target.classList.contains('table-responsive') ? e.target : e.target.parentElement);
  });
  for (const w of wrappers) {
    observer.observe(w);
    if (w.firstElementChild) observer.observe(w.firstElementChild);
  }
}
