"""What a mail client shows: names, subjects, file names and paragraphs outside plain ASCII arrive as written."""
from __future__ import annotations

from resolver.extensions import db
from resolver.files import store_bytes
from resolver.mail import send_pending

from .conftest import START
from .test_mail import queue, reload


def test_names_and_a_subject_outside_ascii_arrive_as_written(app, smtp, company):
    company.name = "Häuser & Söhne, Wohnungsverwaltung"
    company.contact_email = "office@haeuser.test"
    db.session.commit()
    email = queue(
        to_addr="jose@example.test",
        to_name="José Núñez",
        subject="José Núñez sent their side (dispute #12) — our reply is due Friday 13 March",
        company_id=company.id,
    )

    assert send_pending() == 1

    [message] = smtp.to("jose@example.test")
    [to] = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ("José Núñez", "jose@example.test")
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Häuser & Söhne, Wohnungsverwaltung", "resolver@localhost")
    assert message["Reply-To"] == "office@haeuser.test"
    assert message["Subject"] == "José Núñez sent their side (dispute #12) — our reply is due Friday 13 March"
    assert message["Message-ID"] == email.message_id
    assert message["Date"].datetime == START
    # Nothing in the headers names the company or the dispute by id: the recipient reads only what is theirs.
    assert not [name for name in message.keys() if name.lower().startswith("x-resolver")]


def test_a_name_with_a_comma_and_quotes_stays_one_name(app, smtp):
    queue(to_addr="jack@example.test", to_name='Smith, John "Jack"')

    send_pending()

    [message] = smtp.to("jack@example.test")
    [to] = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ('Smith, John "Jack"', "jack@example.test")


def test_a_letter_named_outside_ascii_keeps_its_name_and_its_bytes(app, smtp):
    letter = b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"
    queue(
        to_addr="mueller@example.test",
        body_text="Guten Tag, Frau Müller,\n\nunser Schreiben liegt bei.\n",
        attachments=[{"filename": "Entscheidung für Müller.pdf", "content_type": "application/pdf",
                      "sha256": store_bytes(letter)}],
    )

    assert send_pending() == 1

    [message] = smtp.to("mueller@example.test")
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "Entscheidung für Müller.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == letter
    assert "Frau Müller" in smtp.text_of(message)
    assert "<a href=" in smtp.html_of(message), "the HTML stays beside the text and the letter"


def test_a_long_paragraph_in_another_alphabet_arrives_whole(app, smtp):
    """Under SMTP's 998-character limit in letters, over it in bytes: it still has to be wrapped."""
    paragraph = "Ο τάπητας ήταν καθαρός όταν έφυγα, και έχω τις φωτογραφίες. " * 14
    assert len(paragraph) < 900 and len(paragraph.encode()) > 1000
    email = queue(body_text=f"Γράψατε:\n\n{paragraph}\n", body_html=f"<p>Γράψατε:</p><p>{paragraph}</p>")

    assert send_pending() == 1

    assert reload(email).status == "sent"
    [message] = smtp.to(email.to_addr)
    assert paragraph.strip() in smtp.text_of(message)
    assert paragraph.strip() in smtp.html_of(message)


def test_an_address_with_a_domain_outside_ascii_is_delivered_to_its_idna_form(app, smtp):
    queue(to_addr="rosa@bücher.example", to_name="Rosa")

    assert send_pending() == 1

    [message] = smtp.to("rosa@xn--bcher-kva.example")
    assert message["To"].addresses[0].addr_spec == "rosa@xn--bcher-kva.example"


def test_an_address_a_mail_server_need_not_accept_is_marked_failed_and_says_why(app, smtp):
    email = queue(to_addr="jösé@example.test")
    other = queue()

    assert send_pending() == 1

    email = reload(email)
    assert email.status == "failed"
    assert "outside ASCII before the @" in email.last_error
    assert reload(other).status == "sent"
