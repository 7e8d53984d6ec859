"""The tone check on a corpus of sentences written for it (tests/data/tone_corpus.yaml), kind and
unkind: each must get exactly its expected verdict, phrase by phrase and apology or not."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from resolver.letters.tone import check_tone, rules

CORPUS = yaml.safe_load((Path(__file__).parent / "data" / "tone_corpus.yaml").read_text(encoding="utf-8"))
AVOID_CODES = {rule.code for rule in rules().avoid}


def test_the_corpus_is_large_and_covers_both_kinds_and_every_rule():
    assert len(CORPUS) >= 40
    assert sum(1 for entry in CORPUS if entry["avoid"]) >= 20
    assert sum(1 for entry in CORPUS if not entry["avoid"]) >= 20
    assert {code for entry in CORPUS for code in entry["avoid"]} == AVOID_CODES


@pytest.mark.parametrize("entry", CORPUS, ids=[entry["text"][:60] for entry in CORPUS])
def test_each_sentence_gets_its_verdict(entry):
    flags = check_tone(entry["text"])
    found = [flag for flag in flags if flag.code in AVOID_CODES]
    assert [flag.code for flag in found] == entry["avoid"], entry["text"]
    assert ("missing_apology" not in [flag.code for flag in flags]) == entry["apology"], entry["text"]
    for flag in found:
        assert flag.excerpt
        assert all(part.lower() in entry["text"].replace("’", "'").lower() for part in flag.excerpt.split(" … "))
        assert flag.kinder, "each phrase to avoid offers a kinder way to say it"
        assert flag.is_blocking
        # The kinder way is itself kind.
        assert not [f for f in check_tone(flag.kinder) if f.code in AVOID_CODES], flag.kinder
