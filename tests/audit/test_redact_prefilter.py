"""The cheap pre-check must never say "no secret here" where a redaction pattern would apply."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.audit import redact

# What the text patterns of `redact_text` can start from, case-insensitively (as `re.I` folds it).
_ANY_PATTERN = re.compile(rf"{redact._SECRET_WORDS}|://|bearer|AKIA|ASIA|PRIVATE KEY", re.I)
_ALPHABET = st.sampled_from(list("secrtpaswdokniulhyvbzACEGKPS_-: /.=") + ["K", "ı", "İ", "ſ", "ß", "é"])


@settings(max_examples=3000, deadline=None)
@given(st.text(_ALPHABET, max_size=24))
def test_every_string_a_pattern_matches_passes_the_prefilter(text: str) -> None:
    if _ANY_PATTERN.search(text):
        assert redact._maybe_secret(text)


def test_prefilter_lets_ordinary_text_through_and_catches_disguised_keys() -> None:
    assert not redact._maybe_secret('{"note": "penguins flights holdout", "trial": 3}')
    for text in ("Api-Key=x", "ſession: 1", "PRİVATE KEY", "sessıon=1", "http://u:p@h", "Bearer abcdefgh"):
        assert redact._maybe_secret(text), text
    assert redact.redact_text("ſession=abc123") == "ſession=***"
