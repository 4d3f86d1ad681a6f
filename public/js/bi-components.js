/*
 * The Bootstrap Italia components the pages use, loaded as the library's own ES modules (served
 * under /bi/plugins/) instead of its 1 MB bundle, which carries a video player, a carousel, a
 * date picker and more that no page has: evaluating it took ~0.5 s of a phone's main thread on
 * every first visit. The layout preloads this module's whole graph (src/plugins/page-modules.ts).
 * A template that starts using another component imports it here.
 */
// The main menu, collapsed behind the "Menu" button on a phone (templates/partials/header.hbs).
import '/bi/plugins/navbar-collapsible.js';
// The focus outline for keyboard users only: the CSS hides it after a mouse click.
import '/bi/plugins/track-focus.js';
// Not a Bootstrap Italia component: wide tables and charts made keyboard-scrollable (on a phone).
import './scroll-regions.js';
