"""WCAG 2.2 AA measured in chromium, for tests/browser/test_accessibility_browser.py: axe-core, a page's
frame (one h1, landmarks, language, skip link), and what 200 % and 400 % zoom and a reader's text
spacing lose."""
from __future__ import annotations

# A CSS colour's numbers, and its relative luminance (WCAG's formula), for the scripts below.
LUMINANCE = """const rgb = c => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
      .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);"""

# One walk over the pages: each is loaded once in a 1280 px window, where axe-core runs (its default
# rules and WCAG 2.2's target size) and the page's frame is checked (one h1, landmarks, the language,
# the skip link); then the same page is narrowed to 640 and 320 px, as a 1280 px window shows it at
# 200 % and 400 % zoom, where nothing may scroll sideways, before or after WCAG 1.4.12's text spacing.

WINDOW = {"width": 1280, "height": 900}
ZOOMS = {"200 %": 640, "400 %": 320}

# WCAG 1.4.12: a reader's own style sheet may set these, and nothing may be lost.
TEXT_SPACING = """() => { const style = document.createElement('style'); style.id = 'text-spacing';
  style.textContent = `* { line-height: 1.5 !important; letter-spacing: .12em !important; word-spacing: .16em !important; }
    p { margin-bottom: 2em !important; }`;
  document.head.appendChild(style); }"""

# The page's frame: what a screen reader's user moves by, and the skip link a keyboard's user starts with.
FRAME = """() => {
  const problems = [];
  const lang = document.documentElement.getAttribute('lang') || '';
  if (!/^[a-z]{2,3}(-[A-Za-z0-9]+)*$/.test(lang)) problems.push(`lang="${lang}"`);
  const h1s = document.querySelectorAll('h1');
  if (h1s.length !== 1) problems.push(`${h1s.length} h1`);
  const top = sel => Array.from(document.querySelectorAll(sel)).filter(el =>
      !el.parentElement.closest('main, article, aside, nav, section, header, footer'));
  if (document.querySelectorAll('main').length !== 1) problems.push('not one main');
  if (top('header').length !== 1) problems.push('no page header (banner)');
  const first = document.querySelector('a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])');
  const skip = first && first.matches('a.skip-link[href="#main"]') ? first : null;
  if (!skip) problems.push('the first stop is not the skip link');
  else {
    skip.focus();
    const box = skip.getBoundingClientRect();
    if (box.top < 0 || box.left < 0 || box.bottom > innerHeight || box.width < 1) problems.push('the skip link is not seen when focused');
    skip.blur();
  }
  return problems; }"""

# What a narrow screen loses: the page wider than the screen, text cut off in a box that hides its
# overflow (its content taller or wider than the box), or spilling out of a box of fixed height over
# what follows it.
NARROW_LOSSES = """() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    const wide = Array.from(document.body.querySelectorAll('*')).filter(el =>
        el.getBoundingClientRect().right > root.clientWidth + 0.5).slice(-3);
    problems.push(`${root.scrollWidth}px wide: ` + wide.map(el => `${el.tagName.toLowerCase()}.${el.className}`).join(', '));
  }
  for (const el of document.body.querySelectorAll('*')) {
    const s = getComputedStyle(el);
    const hides = v => v === 'hidden' || v === 'clip';
    if (s.display === 'none' || s.visibility === 'hidden' || el.matches('.skip-link')) continue;
    // (a one-line field scrolls its own text sideways as the caret moves: only its height counts)
    const cut = (hides(s.overflowY) && el.scrollHeight > el.clientHeight + 1)
             || (hides(s.overflowX) && el.scrollWidth > el.clientWidth + 1 && el.tagName !== 'INPUT')
             || (s.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1)
             || (s.overflowY === 'visible' && el.clientHeight && el.scrollHeight > el.clientHeight + 1 && !['HTML', 'BODY'].includes(el.tagName));
    if (cut) problems.push(`cut off: ${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 40)}"`);
  }
  return problems; }"""

# WCAG 1.4.11: a field's edge is how a reader finds it (its inside is as white as the page): 3:1.
FIELD_EDGES = """() => { """ + LUMINANCE + """
  const fields = document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea');
  return Array.from(fields).filter(el => el.getClientRects().length).flatMap(el => {
    let back = el.parentElement;
    while (back && getComputedStyle(back).backgroundColor === 'rgba(0, 0, 0, 0)') back = back.parentElement;
    const [hi, lo] = [lum(rgb(getComputedStyle(el).borderTopColor)), lum(rgb(getComputedStyle(back || document.body).backgroundColor))]
      .sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    return ratio < 3 ? [`the edge of ${el.name || el.id} at ${ratio.toFixed(2)}:1`] : [];
  }); }"""

AXE_OPTIONS = {"resultTypes": ["violations"], "rules": {"target-size": {"enabled": True}}}


def what_axe_found(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe  # axe-core ships in the package: nothing fetched

    found = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    return [f"axe {v['id']}: {node['target']} {node['failureSummary'][:160]!r}" for v in found for node in v["nodes"]]


def problems_of(page) -> list[str]:
    """Everything the page (loaded at WINDOW's width) does wrong, at each zoom."""
    page.wait_for_load_state("load")  # measured with its stylesheet in
    problems = what_axe_found(page) + page.evaluate(FRAME) + page.evaluate(FIELD_EDGES)[:3]
    for zoom, width in ZOOMS.items():
        page.set_viewport_size({"width": width, "height": 900})
        problems += [f"at {zoom}: {p}" for p in page.evaluate(NARROW_LOSSES)]
        page.evaluate(TEXT_SPACING)
        assert page.evaluate("getComputedStyle(document.body).wordSpacing") != "0px"  # the spacing is in
        problems += [f"at {zoom} with text spacing: {p}" for p in page.evaluate(NARROW_LOSSES)]
        page.evaluate("document.getElementById('text-spacing').remove()")
    page.set_viewport_size(WINDOW)
    return problems


def walk(page, urls: dict[str, str]) -> dict[str, list[str]]:
    """Each page's problems, by name; every page is loaded once."""
    found = {}
    for name, url in urls.items():
        response = page.goto(url)
        assert response is not None and response.status < 500, (name, url)
        problems = problems_of(page)
        if problems:
            found[name] = problems
    return found


def report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{name}:\n  " + "\n  ".join(problems) for name, problems in found.items())


# The fills of a chart's or diagram's shapes, each with its contrast against the white card (WCAG
# 1.4.11 asks 3:1 of a graphic's parts a reader needs).
SHAPE_CONTRASTS = """(selector) => { """ + LUMINANCE + """
  const white = lum([255, 255, 255]);
  return Array.from(document.querySelectorAll(selector)).map(el => getComputedStyle(el).fill)
    .filter(fill => fill.startsWith('rgb')).map(fill => { const l = lum(rgb(fill)); return (1.05) / (l + 0.05); }); }"""


WCAG_RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}


def axe_wcag(page) -> list[str]:
    """What axe-core finds against WCAG 2.2 AA (an email or a letter is no page: no landmarks are asked)."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, options=WCAG_RULES).response["violations"]
    return [f"{v['id']}: {node['target']} {node['failureSummary'][:160]}" for v in found for node in v["nodes"]]
