"""Mail throughput: emails per second from the outbox to a local aiosmtpd server.

The outbox is filled first (not timed) with emails the size of Resolver's usual ones (about 1.5 kB
of text and 5 kB of HTML, no attachment). Then ``send_pending`` runs batch after batch, as the
worker does, until the outbox is empty: each batch claims its rows, sends them over one SMTP
connection and marks each one sent as the server accepts it. The server runs in its own process.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path

from .common import make_app, median, row, smtp_sink, sqlite_url

NAME = "mail_throughput"
TEXT = "Dear Tammy,\n\n" + "Thank you for sending your side of the deposit question.\n" * 26
HTML = "<html><body>" + "<p>Thank you for sending your side of the deposit question.</p>\n" * 80 + "</body></html>"


def fill_outbox(count: int) -> None:
    from resolver.clock import now_utc
    from resolver.extensions import db
    from resolver.models import OutboxEmail

    now = now_utc()
    db.session.execute(db.insert(OutboxEmail), [
        {"template": "evidence_receipt", "message_id": f"<{uuid.uuid4().hex}@resolver.local>",
         "to_addr": f"resident{i}@mail.test", "to_name": "Tammy Rivera",
         "subject": "We received your side of the deposit question", "body_text": TEXT, "body_html": HTML,
         "attachments": [], "status": "pending", "created_dt": now, "next_attempt_dt": now, "attempts": 0,
         "last_error": ""}
        for i in range(count)
    ])
    db.session.commit()


def run(quick: bool, workdir: Path) -> list[dict]:
    from resolver.extensions import db
    from resolver.mail import send_pending

    count, repeats = (200, 1) if quick else (1500, 3)
    rates, cpu = [], []
    with smtp_sink() as port:
        app = make_app(workdir, sqlite_url(workdir), mail_port=port)
        with app.app_context():
            fill_outbox(20)
            send_pending(limit=100)  # warm: the connection code and statements
            for _ in range(repeats):
                fill_outbox(count)
                start, start_cpu, sent = time.perf_counter(), time.process_time(), 0
                while sent < count:
                    went = send_pending(limit=app.config["OUTBOX_BATCH"])
                    if not went:
                        raise RuntimeError(f"the outbox stopped sending after {sent} of {count}")
                    sent += went
                rates.append(count / (time.perf_counter() - start))
                cpu.append((time.process_time() - start_cpu) / count * 1000)
            db.engine.dispose()
    rate = median(rates)
    return [row(NAME, "outbox to local aiosmtpd (SQLite)", rate, "emails/s",
                note=f"median of {repeats} runs of {count}; batches of 100, one connection each; watched, no target"),
            row(NAME, "sender CPU per email", median(cpu), "ms",
                note="this process's CPU time (the SQLite database is in it too), not the mail server's")]
