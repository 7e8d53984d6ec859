"""The portfolio CSV import at a company's size: a rent roll of 10,000 residents (100 properties of 100
units), on SQLite.

- preview, empty company: every row new (the service: read the file, load the company, match in memory);
- import: the confirmation that adds the 100 properties, 10,000 units and 10,000 residents, committed;
- preview, the same file again: the company now has all 10,000 residents, so every row is unchanged;
- preview page: the same, as a signed-in manager's browser gets it (the request, the kept file, the
  matching and the page of 10,000 counted rows), through the Flask test client.
Target (the issue): a 10,000-row file previews in under 5 seconds.
"""
from __future__ import annotations

import io
import re
import time
from pathlib import Path

from .common import make_app, median, row, seed_company, sqlite_url, timed

NAME = "portfolio_import"
TARGET_S = 5.0
PASSWORD = "benchmark-password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def rent_roll(residents: int) -> bytes:
    """A property-management system's export: 100 units a property, one resident a unit."""
    out = io.StringIO()
    out.write("Tenant ID,Property Name,Address,Portfolio,Unit,Tenant Name,Email Address,Phone Number,Language\n")
    for n in range(residents):
        building, unit = divmod(n, 100)
        language = "Spanish" if n % 7 == 0 else "English"
        out.write(f"T-{n:06d},Building {building:03d},{building + 1} Main St,{'North' if building % 2 else 'South'},"
                  f"{unit + 1:03d},Resident {n} Example,resident{n}@mail.test,+1 303 555 {n % 10000:04d},{language}\n")
    return out.getvalue().encode()


def run(quick: bool, workdir: Path) -> list[dict]:
    from resolver.actors import Actor
    from resolver.extensions import db
    from resolver.models import StaffUser
    from resolver.services.portfolio_import import import_portfolio, preview_import
    from resolver.services.staff import set_password

    residents = 1_000 if quick else 10_000
    repeats = 2 if quick else 3
    data = rent_roll(residents)
    app = make_app(workdir, sqlite_url(workdir))
    with app.app_context():
        ids = seed_company(tag="import")
        manager = db.session.get(StaffUser, ids["manager"])
        set_password(manager, PASSWORD)
        db.session.commit()
        actor, email = Actor.staff(manager), manager.email

        def preview():
            result = preview_import(actor, data)
            db.session.remove()  # each preview loads the company afresh
            return result

        first = preview()
        empty_times = timed(preview, repeats)
        started = time.perf_counter()
        import_portfolio(actor, data, fingerprint=first.fingerprint, file_name="rent-roll.csv")
        db.session.commit()
        import_s = time.perf_counter() - started
        db.session.remove()
        again = preview()
        full_times = timed(preview, repeats)
    assert first.counts["new"] == residents and again.counts["unchanged"] == residents, (first.counts, again.counts)
    page_times = _page_times(app, email, data, repeats)

    size = f"{residents:,} rows ({len(data) / 1e6:.1f} MB)"
    rows = [
        row(NAME, "preview, empty company", median(empty_times), "s", target=f"< {TARGET_S:g}",
            met=median(empty_times) < TARGET_S, note=f"{size}, every row new; median of {repeats}"),
        row(NAME, "import (confirm), empty company", import_s, "s",
            note=f"adds 100 properties, {residents:,} units and residents; committed"),
        row(NAME, "preview, all residents on file", median(full_times), "s", target=f"< {TARGET_S:g}",
            met=median(full_times) < TARGET_S, note=f"{size}, every row unchanged; median of {repeats}"),
        row(NAME, "preview page, all residents on file", median(page_times), "s", target=f"< {TARGET_S:g}",
            met=median(page_times) < TARGET_S, note="GET of the preview's address through the test client, "
                                                     f"signed in; median of {repeats}"),
    ]
    return rows


def _page_times(app, email: str, data: bytes, repeats: int) -> list[float]:
    client = app.test_client()
    token = _CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    if client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD}).status_code != 302:
        raise RuntimeError("the manager could not sign in")
    token = _CSRF.search(client.get("/import").get_data(as_text=True)).group(1)
    answer = client.post("/import", data={"csrf_token": token, "file": (io.BytesIO(data), "rent-roll.csv")},
                         content_type="multipart/form-data")
    if answer.status_code != 303:
        raise RuntimeError(f"the upload answered {answer.status_code}")
    address = answer.headers["Location"]

    def fetch():
        response = client.get(address)
        response.get_data()
        if response.status_code != 200:
            raise RuntimeError(f"the preview answered {response.status_code}")

    fetch()  # warm: the template compiled
    return timed(fetch, repeats)
