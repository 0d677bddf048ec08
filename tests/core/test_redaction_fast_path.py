"""The redaction's fast path (a text with nothing any pattern needs skips the patterns) never skips a text a pattern
would mask: the same result as running every pattern, on texts built from the patterns' own pieces."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from containerkit import redaction

PIECES = [
    "Authorization: Bearer ",
    "authorization: basic ",
    "password=",
    "DB_PASSWORD",
    "api-key: ",
    "token",
    '"secret": "',
    "ENV ",
    "ARG ",
    "env\t",
    "https://",
    "user:",
    "pass@",
    "@",
    ":",
    "=",
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "sk_live_",
    "npm_",
    "AIza",
    "eyJ",
    ".eyJ",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "\n",
    " ",
    "'",
    '"',
    "$X",
    "{{ x }}",
    "5",
]
FILLER = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=0, max_size=40)


def slow(text: str) -> str:
    for pattern in redaction._PATTERNS:
        text = pattern.sub(lambda m: m.group("pre") + redaction.MASK, text)
    return text


@settings(max_examples=3000)
@given(st.lists(st.one_of(st.sampled_from(PIECES), FILLER), max_size=8).map("".join))
def test_the_fast_path_masks_what_the_patterns_mask(text: str) -> None:
    assert redaction.redact(text) == slow(text)


def test_texts_without_a_trigger_are_returned_as_they_are() -> None:
    for text in ("succeeded", "build_image", "3f1c9a0e5b7d4c2a9e8f7b6a5c4d3e2f", "python:3.12-slim"[:6]):
        assert redaction.redact(text) == text


def test_a_secret_registered_later_is_masked_in_a_string_seen_before() -> None:
    text = "deploy with key Pq7Zr2Lk9Vw4 to the cluster"
    assert redaction.redact(text) == text  # remembered as clean
    redaction.register_secret("Pq7Zr2Lk9Vw4")
    assert redaction.redact(text) == "deploy with key *** to the cluster"
