"""What a phone shows: whether a page is wider than the screen."""


def fits_the_screen(page) -> bool:
    """Whether nothing on the page is wider than the screen, measured once the page's stylesheet is in.

    After a form's redirect the new page's words can be found before its stylesheet arrives (a busy
    server answers the stylesheet last), and a page without its stylesheet is wider than any phone; a
    browser never paints it that way, so the measure waits for the page to finish loading first.
    """
    page.wait_for_load_state("load")
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
