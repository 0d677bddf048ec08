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


def reference_walk(value: object) -> object:
    """What redact_strings did before it copied on write: a deep copy with every string redacted."""
    if isinstance(value, str):
        return redaction.redact(value)
    if isinstance(value, dict):
        return {k: reference_walk(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [reference_walk(v) for v in value]
    return value


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.sampled_from(PIECES) | FILLER,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(FILLER, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=1000)
@given(JSON)
def test_the_copy_on_write_walk_masks_what_a_deep_copy_masks_and_leaves_its_input_alone(document: object) -> None:
    import copy

    before = copy.deepcopy(document)
    assert redaction.redact_strings(document) == reference_walk(document)
    assert document == before


def test_a_clean_document_comes_back_as_the_same_object_and_a_masked_one_as_a_copy() -> None:
    clean = {"jobs": [{"id": "j1", "status": "succeeded", "params": {"n": 1}}], "ok": True}
    assert redaction.redact_strings(clean) is clean
    dirty = {"jobs": [{"id": "j1", "log": "export GITHUB_TOKEN=hunter2hunter2"}], "other": [{"id": "j2"}]}
    masked = redaction.redact_strings(dirty)
    assert masked is not dirty and masked["jobs"][0]["log"] == "export GITHUB_TOKEN=***"
    assert dirty["jobs"][0]["log"].endswith("hunter2hunter2")  # the input is not touched
    assert masked["other"] is dirty["other"]  # what holds nothing to mask is shared, not copied
