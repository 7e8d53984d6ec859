"""The portfolio CSV: one row per resident (or per unit with no resident), in the columns a
property-management system's rent roll or tenant directory exports. Reading it, with the reasons a
file is refused, and writing it back out in the same shape.

Pure: bytes in, rows out (and rows in, text out). Matching the rows against the company's
properties, units and residents is ``portfolio_import``'s.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

import filetype

from ..errors import InvalidInput
from ..text import without_invisible

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
SAVE_AS_CSV = ("In Excel choose File › Save As › “CSV UTF-8 (Comma delimited)” (in Google Sheets: File › "
               "Download › Comma-separated values) and upload that file.")

# The columns, in the order the export writes them. `external_id` is the resident's id in the
# property-management system; `property_external_id` (optional) is the property's.
COLUMNS = ("external_id", "property", "address", "portfolio", "unit", "resident_name", "email", "phone",
           "language", "property_external_id")
REQUIRED = ("property", "unit")
# The names each column goes by in the exports people bring (compared in lower case, with runs of
# spaces and underscores read as one space). One place: add a spelling here and every reader knows it.
ALIASES = {
    "external_id": ("external id", "tenant id", "resident id", "tenant code", "resident code", "lease id"),
    "property": ("property", "property name", "building", "community"),
    "address": ("address", "property address", "street address"),
    "portfolio": ("portfolio", "owner", "owner group"),
    "unit": ("unit", "unit number", "unit label", "unit #", "apt", "apartment"),
    "resident_name": ("resident name", "resident", "tenant", "tenant name", "name"),
    "email": ("email", "email address", "e-mail", "e-mail address"),
    "phone": ("phone", "phone number", "mobile", "mobile phone", "cell phone", "telephone"),
    "language": ("language", "preferred language"),
    "property_external_id": ("property external id", "property id", "property code"),
}
_COLUMN_OF = {spelling: column for column, spellings in ALIASES.items() for spelling in spellings}
DESCRIBED = {"property": "the property (“Property” or “Property Name”)",
             "unit": "the unit (“Unit”, “Unit Number” or “Apt”)"}

# What a spreadsheet runs as a formula when a cell starts with it; the export puts an apostrophe
# before such a cell (spreadsheets show the text as it is) and the import takes it off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_KINDS = {"pdf": "a PDF", "xlsx": "an Excel workbook (.xlsx)", "xls": "an older Excel workbook (.xls)",
          "ods": "an OpenDocument spreadsheet (.ods)", "zip": "a zip archive", "docx": "a Word document",
          "doc": "a Word document"}

# Languages residents are recorded in, by their ISO 639-1 code, with the names people write them by.
LANGUAGES = {
    "en": ("english",), "es": ("spanish", "español", "espanol"), "zh": ("chinese", "mandarin", "cantonese"),
    "vi": ("vietnamese", "tiếng việt"), "tl": ("tagalog", "filipino"), "ar": ("arabic",), "fr": ("french", "français"),
    "ko": ("korean",), "ru": ("russian",), "pt": ("portuguese", "português"), "ht": ("haitian creole", "kreyòl"),
    "de": ("german", "deutsch"), "hi": ("hindi",), "pl": ("polish",), "ja": ("japanese",), "it": ("italian",),
    "fa": ("persian", "farsi"), "ur": ("urdu",), "so": ("somali",), "am": ("amharic",), "uk": ("ukrainian",),
    "bn": ("bengali",), "pa": ("punjabi",), "hy": ("armenian",), "km": ("khmer",), "ne": ("nepali",),
    "sw": ("swahili",), "my": ("burmese",), "ro": ("romanian",), "el": ("greek",), "he": ("hebrew",),
}
_LANGUAGE_OF = {name: code for code, names in LANGUAGES.items() for name in names}
_TAG = re.compile(r"^([a-z]{2})(?:[-_][a-z0-9]{2,8})*$")


@dataclass(frozen=True)
class SheetRow:
    number: int  # the row's number as a spreadsheet shows it (the column names are row 1)
    values: dict[str, str]  # every column of COLUMNS: the cell's text, trimmed ("" when blank or absent)


@dataclass(frozen=True)
class Sheet:
    columns: tuple[str, ...]  # the columns of COLUMNS the file has
    ignored: tuple[str, ...]  # its other columns, as the file names them
    rows: list[SheetRow]
    problems: dict[int, str]  # a row's number → why it cannot be read (it is shown as wrong)


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, field="file")


def column_for(header: str) -> str | None:
    return _COLUMN_OF.get(re.sub(r"[\s_]+", " ", header.strip().lower()))


def language_code(value: str) -> str | None:
    """A language as Resolver records it ("es", "pt-BR"), from a code or a name; None if unknown."""
    text = " ".join(value.split()).lower()
    if text in _LANGUAGE_OF:
        return _LANGUAGE_OF[text]
    match = _TAG.match(text)
    if match and match.group(1) in LANGUAGES:
        primary, _, region = value.strip().replace("_", "-").partition("-")
        return primary.lower() + (f"-{region.upper() if len(region) == 2 else region}" if region else "")
    return None


def unguard(value: str) -> str:
    """A cell as written, without the apostrophe the export put before a would-be formula."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS + ("'",)):
        return value[1:]
    return value


def guard(value: str) -> str:
    """A cell a spreadsheet shows as text and never runs as a formula (``unguard`` gives it back)."""
    return "'" + value if value.startswith(FORMULA_STARTS + ("'",)) else value


def decode(data: bytes) -> str:
    """The file's text, or the reason it is not a CSV Resolver can read."""
    if len(data) > MAX_BYTES:
        raise _refuse(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. Split it into smaller files "
                      f"(at most {MAX_ROWS:,} rows each) and import them one after the other.")
    if not data.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise _refuse("The file is empty. Choose the CSV file your property-management system exported.")
    if data.startswith((b"%PDF", b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise _not_csv(data)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _refuse(f"This file is saved as UTF-16 (“Unicode Text”), not as CSV UTF-8. {SAVE_AS_CSV}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        if filetype.guess(data) is not None:
            raise _not_csv(data) from None
        line = data[:problem.start].count(b"\n") + 1
        raise _refuse(f"This file is not saved as UTF-8: line {line} has a character in another encoding (most "
                      f"likely Windows-1252, what Excel's plain “CSV” uses), so names with accents would come "
                      f"out wrong. {SAVE_AS_CSV}") from None
    if _CONTROL.search(text):
        raise _not_csv(data)
    return text


def _not_csv(data: bytes) -> InvalidInput:
    guess = filetype.guess(data)
    if guess is not None:
        kind = _KINDS.get(guess.extension, f"a .{guess.extension} file")
    else:
        kind = "a PDF" if data.startswith(b"%PDF") else "a document or an archive" if data.startswith(
            (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")) else "binary data"
    return _refuse(f"This file is {kind}, not a CSV. {SAVE_AS_CSV}")


def _delimiter(text: str) -> str:
    """Comma, or the semicolon or tab some spreadsheets use instead, whichever the first line has most of."""
    first = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=first.count) if any(c in first for c in ",;\t") else ","


def read_sheet(data: bytes) -> Sheet:
    """Read the file's rows by their column names, or refuse the whole file with the reason."""
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    records: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(reader, start=1):
            if any(cell.strip() for cell in cells):  # blank lines (",,,," too) are no rows
                records.append((number, cells))
                if len(records) > MAX_ROWS + 1:  # the column names and one row too many: stop reading
                    raise _refuse(f"The file has more than {MAX_ROWS:,} rows; at most {MAX_ROWS:,} can be "
                                  "imported at once. Split it into smaller files and import them one after the other.")
    except csv.Error as problem:
        raise _refuse(f"Row {reader.line_num} cannot be read as CSV ({problem}). {SAVE_AS_CSV}") from None
    if not records:
        raise _refuse("The file is empty. Choose the CSV file your property-management system exported.")
    (_, headers), body = records[0], records[1:]
    places, ignored = _columns(headers)
    if not body:
        raise _refuse("The file has its column names but no rows under them. Nothing was imported.")
    rows, problems = [], {}
    for number, cells in body:
        values = {column: without_invisible(unguard(cells[place].strip()) if place < len(cells) else "").strip()
                  for column, place in places.items()}
        rows.append(SheetRow(number, {column: values.get(column, "") for column in COLUMNS}))
        if len(cells) > len(headers) and any(cell.strip() for cell in cells[len(headers):]):
            problems[number] = (f"it has {len(cells)} cells but the file has {len(headers)} columns (a comma "
                                "inside a value that is not in quotes?)")
    return Sheet(tuple(c for c in COLUMNS if c in places), tuple(ignored), rows, problems)


def _columns(headers: list[str]) -> tuple[dict[str, int], list[str]]:
    places: dict[str, int] = {}
    ignored = []
    for place, header in enumerate(headers):
        column = column_for(unguard(header.strip()))
        if column is None:
            if header.strip():
                ignored.append(header.strip())
        elif column in places:
            raise _refuse(f"Two columns are both read as {column.replace('_', ' ')}: “{headers[places[column]].strip()}” "
                          f"and “{header.strip()}”. Rename or remove one of them and upload the file again.")
        else:
            places[column] = place
    missing = [column for column in REQUIRED if column not in places]
    if missing:
        found = ", ".join(f"“{h.strip()}”" for h in headers if h.strip()) or "none"
        raise _refuse(f"The file has no column for {' or '.join(DESCRIBED[c] for c in missing)}. Each row needs "
                      f"the property and the unit. Columns found: {found}.")
    return places, ignored


def write_sheet(records: Iterable[dict[str, str]]) -> str:
    """The CSV text of ``records`` (dicts keyed by COLUMNS), each cell guarded against formulas."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([guard(record.get(column) or "") for column in COLUMNS])
    return out.getvalue()
