"""Image references: the distribution grammar's known cases as a table, and properties (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from containerkit.errors import InvalidInputError
from containerkit.registry.reference import parse_reference, parse_repository

D = "sha256:" + "a" * 64

VALID = [
    # input, registry, repository, tag, digest
    ("ubuntu", "docker.io", "library/ubuntu", "latest", None),
    ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", None),
    ("docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", None),
    ("index.docker.io/foo/bar:v1", "docker.io", "foo/bar", "v1", None),
    ("foo/bar", "docker.io", "foo/bar", "latest", None),
    ("localhost/foo", "localhost", "foo", "latest", None),
    ("localhost:5000/foo/bar:1.0", "localhost:5000", "foo/bar", "1.0", None),
    ("127.0.0.1:5001/team/app:1", "127.0.0.1:5001", "team/app", "1", None),
    ("[2001:db8::1]:5000/app:x", "[2001:db8::1]:5000", "app", "x", None),
    ("registry.example.com/a/b/c", "registry.example.com", "a/b/c", "latest", None),
    ("Uppercase/lowercase:tag", "Uppercase", "lowercase", "tag", None),  # upper case first component = registry
    ("foo-bar.com:8080/a__b/c-d---e:Tag_1.x-y", "foo-bar.com:8080", "a__b/c-d---e", "Tag_1.x-y", None),
    (f"app@{D}", "docker.io", "library/app", None, D),
    (f"reg.io/app:1@{D}", "reg.io", "app", "1", D),
    ("localhost:5000", "docker.io", "library/localhost", "5000", None),  # as the Docker CLI reads it
    ("a" * 120 + ":" + "t" * 128, "docker.io", "library/" + "a" * 120, "t" * 128, None),
]

INVALID = [
    ("", "empty"),
    ("-oops", "starts with '-'"),
    ("--help", "starts with '-'"),
    ("Uppercase:tag", "lowercase"),
    ("foo/Bar", "lowercase"),
    ("a" * 64, "image id"),
    ("app:", "tag"),
    ("app:.hidden", "tag"),
    ("app:-x", "tag"),
    ("app:" + "t" * 129, "tag"),
    ("app@sha256:abc", "digest"),
    ("app@" + "a" * 64, "digest"),
    ("foo//bar", "repository"),
    ("foo/bar/", "repository"),
    ("-reg.io/app", "starts with '-'"),
    ("reg-.io/app", "registry"),
    ("foo_bar.com/app", "registry"),
    ("a_/b", "repository"),
    ("_a/b", "repository"),
    (" app", "whitespace"),
    ("a" * 256, "255"),
    ("reg.io/", "missing"),
]


@pytest.mark.parametrize(("value", "registry", "repository", "tag", "digest"), VALID)
def test_known_valid_references_normalise(value: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    ref = parse_reference(value)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)
    assert parse_reference(ref.canonical) == ref
    assert parse_reference(ref.familiar) == ref


@pytest.mark.parametrize(("value", "reason"), INVALID)
def test_known_invalid_references_are_rejected_with_the_reason(value: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_reference(value)
    assert reason in info.value.message, info.value.message
    assert info.value.code == "INVALID_INPUT" and info.value.hint


def test_familiar_form_drops_docker_io_and_library() -> None:
    assert parse_reference("docker.io/library/nginx:stable").familiar == "nginx:stable"
    assert parse_reference("docker.io/team/app").familiar == "team/app:latest"
    assert parse_reference("127.0.0.1:5001/library/x:1").familiar == "127.0.0.1:5001/library/x:1"


def test_repository_form_refuses_tags() -> None:
    assert parse_repository("127.0.0.1:5001/a/b").name == "127.0.0.1:5001/a/b"
    with pytest.raises(InvalidInputError):
        parse_repository("127.0.0.1:5001/a/b:1")


# --- properties -------------------------------------------------------------------------------------

component = st.from_regex(r"[a-z0-9]{1,8}((\.|_|__|-{1,3})[a-z0-9]{1,8}){0,2}", fullmatch=True)
domain = st.one_of(
    st.just("localhost"),
    st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){1,3}", fullmatch=True),
    st.builds(lambda h, p: f"{h}:{p}", st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,6}){0,2}", fullmatch=True),
              st.integers(1, 65535)),
)
tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
digest = st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True)


@st.composite
def references(draw: st.DrawFn) -> tuple[str, str | None, str, str | None, str | None]:
    reg = draw(st.none() | domain)
    path = "/".join(draw(st.lists(component, min_size=1, max_size=3)))
    # without a registry, a first component with '.' would be read as a registry host (as Docker reads it)
    assume(reg is not None or "/" not in path or "." not in path.split("/")[0])
    t = draw(st.none() | tag)
    d = draw(st.none() | digest)
    text = (f"{reg}/" if reg else "") + path + (f":{t}" if t else "") + (f"@{d}" if d else "")
    return text, reg, path, t, d


@settings(max_examples=300, deadline=None)
@given(references())
def test_generated_grammar_references_parse_and_round_trip(case: tuple[str, str | None, str, str | None, str | None]) -> None:
    text, reg, path, t, d = case
    if len(text.split("@")[0].rsplit(":", 1)[0]) > 255:
        return
    ref = parse_reference(text)
    assert ref.digest == d
    assert ref.tag == (t if (t or d) else "latest")
    name = text.split("@")[0]
    first = name.split("/")[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        assert f"{ref.registry}/{ref.repository}" == (f"{reg}/{path}" if reg else path)
    else:
        assert ref.registry == "docker.io"
        assert ref.repository.endswith(path)
    assert parse_reference(ref.canonical) == ref
    assert parse_reference(ref.familiar) == ref


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_is_parsed_or_rejected_cleanly(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidInputError as e:
        assert e.message.startswith("invalid image reference")
        return
    assert not text.startswith("-")
    assert parse_reference(ref.canonical) == ref


@given(st.text(min_size=0, max_size=40))
def test_anything_starting_with_a_dash_is_rejected(rest: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_reference("-" + rest)
