"""Only the new words of a reply: the text a resident wrote, without the email they answered.

Quoted history ("On … wrote:", Outlook's "From:/Sent:" block), signatures ("-- ", "Sent from my
iPhone") and disclaimers are cut by ``mail-parser-reply``, which is maintained and knows the phrases
of the common mail programs in several languages (Mailgun's ``talon`` did this too, but has not been
kept up since 2017); lines quoted with ">" that it leaves are dropped after it. HTML-only mail is
turned into text here with the standard library's parser: the words only, never a script's or a
style's, with a quoted block (``<blockquote>``, Gmail's and Outlook's quote wrappers) marked with
">" so it goes the way of any other quote.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser

LANGUAGES = ["en", "de", "fr", "es", "it", "nl"]
MAX_TEXT = 20_000  # as much as the form takes (services.evidence.MAX_TEXT)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


def new_text(plain: str, html: str = "") -> str:
    """The words a reply adds to the conversation, from its text part (or its HTML, when it has
    no text part)."""
    text = plain if plain.strip() else html_to_text(html)
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if not text.strip():
        return ""
    replies = EmailReplyParser(languages=LANGUAGES).read(text=text).replies
    latest = replies[0].body if replies else text
    kept = [line.rstrip() for line in latest.split("\n") if not line.lstrip().startswith(">")]
    return _MANY_BLANK_LINES.sub("\n\n", "\n".join(kept)).strip()


def html_to_text(html: str) -> str:
    """The words of an HTML email as plain text; nothing of its scripts, styles or head."""
    reader = _HtmlText()
    reader.feed(html or "")
    reader.close()
    return reader.text()


_SKIPPED = {"script", "style", "head", "title", "template", "noscript", "iframe", "object", "svg", "math"}
_BLOCKS = {"p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol", "h1", "h2", "h3",
           "h4", "h5", "h6", "pre", "hr", "address", "center", "form", "fieldset", "dl", "dt", "dd"}
_QUOTE_MARKS = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "divrplyfwdmsg", "appendonsend",
                "protonmail_quote", "ms-outlook-mobile-reference-message")
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr"}


class _HtmlText(HTMLParser):
    """Collects an HTML document's words, line by line, with quoted blocks marked by ">"."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.open: list[tuple[str, bool]] = []  # (tag, is a quote) of the elements we are inside
        self.skipping = 0
        self.size = 0
        self.is_spaced = False  # the last words ended with a space

    @property
    def depth(self) -> int:
        return sum(1 for _tag, is_quote in self.open if is_quote)

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED:
            self.skipping += 1
            return
        if tag in _VOID:
            if tag in ("br", "hr"):
                self._new_line()
            return
        marks = " ".join(str(value or "") for name, value in attrs if name in ("class", "id")).lower()
        is_quote = tag == "blockquote" or any(mark in marks for mark in _QUOTE_MARKS)
        if is_quote or tag in _BLOCKS or tag == "li":
            self._new_line()
        self.open.append((tag, is_quote))
        if tag == "li":
            self._write("- ")

    def handle_endtag(self, tag):
        if tag in _SKIPPED:
            self.skipping = max(self.skipping - 1, 0)
            return
        for index in range(len(self.open) - 1, -1, -1):  # forgiving: close up to the matching tag
            if self.open[index][0] == tag:
                del self.open[index:]
                break
        if tag in _BLOCKS or tag in ("blockquote", "li"):
            self._new_line()

    def handle_data(self, data):
        if self.skipping or self.size > 4 * MAX_TEXT:
            return
        words = " ".join(data.split())
        spaced = self.is_spaced or data[:1].isspace()
        self.is_spaced = data[-1:].isspace()
        if words:
            separator = " " if spaced and self.lines[-1].strip("> ") else ""
            self._write(separator + words)

    def _write(self, words: str) -> None:
        if not self.lines[-1] and self.depth:
            self.lines[-1] = "> " * self.depth
        self.lines[-1] += words
        self.size += len(words)

    def _new_line(self) -> None:
        self.is_spaced = False
        if self.lines[-1].strip("> "):
            self.lines.append("")
        elif len(self.lines) > 1 and self.lines[-2]:
            self.lines[-1] = ""
            self.lines.append("")

    def text(self) -> str:
        return _MANY_BLANK_LINES.sub("\n\n", "\n".join(line.rstrip() for line in self.lines)).strip()
