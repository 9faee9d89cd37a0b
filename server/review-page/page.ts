/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The review page's HTML shell; the script fills it in from `GET /v1/stories/:id`. */
export function reviewPageHtml(storyId: string, assetVersion: string): string {
  const id = escapeHtml(storyId);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Review ${id} · reelflow</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/review-page/review.css?v=${assetVersion}">
<script defer src="/review-page/review.js?v=${assetVersion}"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <h1 id="title">Story <code>${id}</code></h1>
  <dl class="facts">
    <div><dt>Stage</dt><dd><span id="stage" data-stage="">loading…</span></dd></div>
    <div><dt>Credits</dt><dd id="credits">–</dd></div>
    <div><dt>Budget</dt><dd id="budget">–</dd></div>
  </dl>
  <p id="status" class="status" role="status" aria-live="polite"></p>
</header>
<main id="main" data-story-id="${id}" tabindex="-1">
  <div id="alert" class="alert" role="alert" hidden></div>
  <section id="final" aria-labelledby="final-h" hidden>
    <h2 id="final-h">Final video</h2>
    <div id="final-body"></div>
  </section>
  <section id="keyframes" aria-labelledby="keyframes-h" hidden>
    <h2 id="keyframes-h">Keyframes</h2>
    <p id="keyframes-help" class="help"></p>
    <form id="keyframes-form" novalidate>
      <div id="boundaries"></div>
      <div class="actions" id="keyframes-actions" hidden>
        <button type="submit" id="approve-keyframes" class="primary">Approve keyframes and make the clips</button>
      </div>
    </form>
  </section>
  <section id="shots" aria-labelledby="shots-h" hidden>
    <h2 id="shots-h">Shots</h2>
    <ol id="shot-list" class="shots"></ol>
  </section>
</main>
<noscript><p class="alert">This page needs JavaScript.</p></noscript>
</body>
</html>
`;
}

/** A small HTML page for a refused review link; says what to do next. */
export function refusedPageHtml(title: string, message: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)} · reelflow</title>
<link rel="stylesheet" href="/review-page/review.css"></head>
<body><main id="main"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></main></body>
</html>
`;
}

/** The page's styles: one column on a phone, variations side by side, a visible focus ring everywhere. */
export const REVIEW_PAGE_CSS = `
:root { color-scheme: light dark; --accent: #2458d3; --ok: #17804a; --bad: #b3261e; --line: #8884; --bg2: #8881; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.top, main { max-width: 1100px; margin: 0 auto; padding: 0.75rem 1rem; }
h1 { font-size: 1.35rem; margin: 0.25rem 0 0.5rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 1.25rem 0 0.5rem; }
h3 { font-size: 1rem; margin: 0 0 0.35rem; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 0.5rem; background: Canvas; padding: 0.25rem 0.5rem; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.facts { display: flex; flex-wrap: wrap; gap: 0.25rem 1.5rem; margin: 0; }
.facts div { display: flex; gap: 0.4rem; }
.facts dt { font-weight: 600; }
.facts dd { margin: 0; }
#stage { font-weight: 600; }
.status { min-height: 1.45em; margin: 0.35rem 0 0; color: GrayText; }
.alert { border: 2px solid var(--bad); border-radius: 6px; padding: 0.5rem 0.75rem; margin: 0.5rem 0; }
.help { margin: 0 0 0.75rem; }
fieldset.boundary { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 1rem; padding: 0.5rem 0.75rem 0.75rem; min-width: 0; }
legend { font-weight: 600; padding: 0 0.25rem; }
.prompt { font-size: 0.9rem; margin: 0 0 0.5rem; overflow-wrap: anywhere; }
.variations { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 0.6rem; }
.variation { display: block; border: 2px solid var(--line); border-radius: 8px; padding: 0.35rem; cursor: pointer; }
.variation:has(input:checked) { border-color: var(--accent); background: var(--bg2); }
.variation:has(input:focus-visible) { outline: 3px solid var(--accent); outline-offset: 2px; }
.variation img { display: block; width: 100%; height: auto; border-radius: 4px; background: var(--bg2); }
.variation span { display: flex; align-items: center; gap: 0.35rem; margin-top: 0.3rem; }
.variation input { width: 1.1rem; height: 1.1rem; margin: 0; }
.placeholder { display: grid; place-items: center; aspect-ratio: 16 / 9; background: var(--bg2); border-radius: 4px; font-size: 0.85rem; }
details { margin-top: 0.6rem; }
summary { cursor: pointer; padding: 0.2rem 0; }
textarea { width: 100%; min-height: 4.5rem; font: inherit; padding: 0.4rem; border-radius: 6px; border: 1px solid var(--line); }
label.field { display: block; font-weight: 600; margin: 0.4rem 0 0.2rem; }
button { font: inherit; padding: 0.5rem 0.9rem; border-radius: 6px; border: 1px solid var(--line); background: var(--bg2); color: inherit; cursor: pointer; min-height: 44px; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; font-weight: 600; }
button.approve { border-color: var(--ok); }
button.reject { border-color: var(--bad); }
button:disabled { opacity: 0.55; cursor: progress; }
.actions { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.6rem 0; }
.shots { list-style: none; padding: 0; margin: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 0.75rem; }
.shot { border: 1px solid var(--line); border-radius: 8px; padding: 0.6rem 0.75rem; min-width: 0; }
.shot p { margin: 0.2rem 0; }
video { display: block; width: 100%; height: auto; max-height: 70vh; background: #000; border-radius: 6px; }
.badge { display: inline-block; padding: 0 0.4rem; border-radius: 4px; background: var(--bg2); font-size: 0.9rem; }
@media (max-width: 420px) {
  .top, main { padding: 0.5rem 0.75rem; }
  .shots { grid-template-columns: 1fr; }
  .variations { grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); }
}
@media (prefers-reduced-motion: reduce) { * { scroll-behavior: auto; } }
`;
