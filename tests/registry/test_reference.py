"""Image references: the distribution grammar's known cases as a table, and properties (hypothesis)."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from containerkit.errors import InvalidInputError
from containerkit.imageref import parse_reference, parse_repository

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
def test_known_valid_references_normalise(
    value: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
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
    st.builds(
        lambda h, p: f"{h}:{p}",
        st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,6}){0,2}", fullmatch=True),
        st.integers(1, 65535),
    ),
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
def test_generated_grammar_references_parse_and_round_trip(
    case: tuple[str, str | None, str, str | None, str | None],
) -> None:
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


# --- one grammar for every package (issue 17) -----------------------------------------------------------------------
# distribution's anchored ReferenceRegexp (github.com/distribution/reference, regexp.go), spelled from its spec here
_COMP = r"[a-z0-9]+(?:(?:[_.]|__|[-]+)[a-z0-9]+)*"
_DCOMP = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DCOMP}(?:\.{_DCOMP})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_REFERENCE = re.compile(
    rf"^((?:{_DOMAIN}/)?{_COMP}(?:/{_COMP})*)(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)


def _grammar_accepts(value: str) -> bool:
    """What Docker's ParseNormalizedNamed accepts: no bare 64-hex id; the first component is a registry only with a
    '.' or ':', as ``localhost`` or with an upper-case letter (else the name is Docker Hub's: docker.io/<value>); then
    the grammar, with a name of at most 255 characters."""
    if re.fullmatch(r"[a-f0-9]{64}", value):
        return False
    first, slash, _ = value.partition("/")
    hub = not slash or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first)
    if not hub and not re.fullmatch(_DOMAIN, first):
        # one deliberate difference: distribution's Parse then reads "0_0.0/app" as a path with no registry at all,
        # which nothing can pull; here a first component that looks like a registry must be a valid host[:port]
        return False
    match = _REFERENCE.match(f"docker.io/{value}" if hub else value)
    return bool(match) and len(match.group(1)) - (len("docker.io/") if hub else 0) <= 255


def _accepted(value: str) -> bool:
    try:
        parse_reference(value, default_tag=False)
    except InvalidInputError:
        return False
    return True


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.from_regex(_REFERENCE, fullmatch=True), st.text(alphabet="abcAB019._-:/@[]", max_size=40)))
def test_the_parser_accepts_exactly_what_the_distribution_grammar_does(value: str) -> None:
    assert _accepted(value) == _grammar_accepts(value), value


# inputs of the kind the three copies disagreed on (registry/reference.py, sandbox/policy.py, scan/service.py)
SEAM_CASES = [
    ("python:3.12-slim", True),
    ("127.0.0.1:5001/app:1.0", True),
    ("UPPER/case", True),
    ("upper/Case", False),
    ("app:", False),
    ("-rm", False),
    ("a/b/c/d:tag@" + D, True),
    ("[::1]:5000/app", True),
    ("app@sha256:abc", False),
    ("sha256:" + "b" * 64, True),
    ("a" * 64, True),
    ("repo:tag with space", False),
    ("[0]/0", False),
]


@pytest.mark.parametrize(("value", "ok"), SEAM_CASES)
def test_sandbox_scan_and_registry_use_one_check(value: str, ok: bool) -> None:
    from containerkit import imageref
    from containerkit.sandbox import policy
    from containerkit.tools import sandbox, scan

    # one function, wherever a package checks an image it is given (an image id counts: the engine knows it)
    assert policy.check_image is sandbox.check_image is scan.check_image is imageref.check_image
    try:
        imageref.check_image(value)
    except InvalidInputError:
        assert not ok
    else:
        assert ok
