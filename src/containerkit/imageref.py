"""Image references by the distribution grammar, normalised like the Docker CLI: the one parser every package uses
(registry transfers, the tools' parameters, the sandbox policy, the scan), so they accept and refuse the same inputs.

Grammar (github.com/distribution/reference)::

    reference       := name [ ":" tag ] [ "@" digest ]
    name            := [domain '/'] remote-name
    domain          := host [':' port-number]
    host            := domain-name | IPv4address | '[' IPv6address ']'
    domain-name     := domain-component ['.' domain-component]*
    domain-component:= /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    remote-name     := path-component ['/' path-component]*
    path-component  := alpha-numeric [separator alpha-numeric]*
    alpha-numeric   := /[a-z0-9]+/
    separator       := /[_.]|__|[-]+/
    tag             := /[\\w][\\w.-]{0,127}/
    digest          := algorithm ":" hex   (algorithm components joined by [+._-]; hex >= 32 chars)

Normalisation: a first path component is a registry only if it contains '.' or ':' or is
``localhost`` (or has upper-case letters); otherwise the registry is ``docker.io`` and a
single-component name gets ``library/``. Neither tag nor digest means ``latest``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from containerkit.errors import InvalidInputError

DOCKER_HUB = "docker.io"
_LEGACY_HUB = ("index.docker.io", "registry-1.docker.io")
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[_.]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

PATH_RE = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
TAG_RE = re.compile(rf"^{_TAG}$")
DIGEST_RE = re.compile(rf"^{_DIGEST}$")
_ANCHORED_ID = re.compile(r"^[a-f0-9]{64}$")


class ImageReference(BaseModel):
    """A parsed, normalised image reference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    registry: str = Field(description="Registry host[:port]; docker.io for Docker Hub.")
    repository: str = Field(description="Repository path inside the registry (library/ added for official images).")
    tag: str | None = Field(None, description="Tag, or None when only a digest was given.")
    digest: str | None = Field(None, description="Content digest (algorithm:hex), when given.")

    @property
    def name(self) -> str:
        """registry/repository (the engine's repository argument)."""
        return f"{self.registry}/{self.repository}"

    @property
    def canonical(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def familiar(self) -> str:
        """The short form the Docker CLI prints (docker.io and library/ dropped)."""
        name = self.name
        if self.registry == DOCKER_HUB:
            name = self.repository.removeprefix("library/") if self.repository.count("/") == 1 else self.repository
        return name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def tag_or_digest(self) -> str:
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> ImageReference:
        if not TAG_RE.match(tag):
            raise InvalidInputError(
                f"invalid tag {tag!r}", hint="A tag is up to 128 of [A-Za-z0-9_.-], not starting with . or -."
            )
        return ImageReference(registry=self.registry, repository=self.repository, tag=tag, digest=None)

    def with_digest(self, digest: str) -> ImageReference:
        return ImageReference(registry=self.registry, repository=self.repository, tag=None, digest=digest)

    def __str__(self) -> str:
        return self.canonical


def _invalid(value: str, reason: str) -> InvalidInputError:
    return InvalidInputError(
        f"invalid image reference {value!r}: {reason}",
        hint="Use [REGISTRY[:PORT]/]REPOSITORY[:TAG][@DIGEST] with a lower-case repository, e.g. "
        "127.0.0.1:5001/team/app:1.0.",
        details={"reference": value, "reason": reason},
    )


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost" and first.lower() == first):
        return DOCKER_HUB, name
    return first, rest


def parse_reference(value: str, *, default_tag: bool = True) -> ImageReference:
    """Parse and normalise a reference.

    Raises:
        InvalidInputError: not a valid reference (the reason is in the message).
    """
    if not value or value != value.strip():
        raise _invalid(value, "empty or surrounded by whitespace")
    if value.startswith("-"):
        raise _invalid(value, "starts with '-' (would be read as an option)")
    if _ANCHORED_ID.match(value):
        raise _invalid(value, "a 64-character hex string is an image id, not a repository name")
    remainder, digest = value, None
    if "@" in remainder:
        remainder, _, digest = remainder.partition("@")
        if not DIGEST_RE.match(digest):
            raise _invalid(value, f"digest {digest!r} is not algorithm:hex (at least 32 hex digits)")
    tag = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not TAG_RE.match(tag):
            raise _invalid(value, f"tag {tag!r} must be 1-128 of [A-Za-z0-9_.-] not starting with '.' or '-'")
    if not remainder:
        raise _invalid(value, "missing repository name")
    if len(remainder) > NAME_TOTAL_LENGTH_MAX:
        raise _invalid(value, f"name longer than {NAME_TOTAL_LENGTH_MAX} characters")
    registry, path = _split_domain(remainder)
    if registry != DOCKER_HUB and not DOMAIN_RE.match(registry):
        raise _invalid(value, f"registry {registry!r} is not a valid host[:port]")
    if registry in _LEGACY_HUB:
        registry = DOCKER_HUB
    if not path:
        raise _invalid(value, "missing repository name")
    if not PATH_RE.match(path):
        reason = (
            "repository name must be lowercase"
            if PATH_RE.match(path.lower())
            else (
                f"repository {path!r} must be lower-case components of [a-z0-9] joined by '.', '_', '__' or '-', "
                "separated by '/'"
            )
        )
        raise _invalid(value, reason)
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if tag is None and digest is None and default_tag:
        tag = "latest"
    return ImageReference(registry=registry, repository=path, tag=tag, digest=digest)


_IMAGE_ID = re.compile(r"^(?:sha256:[a-f0-9]{64}|[a-f0-9]{12,64})$")


def check_image(value: str) -> str:
    """``value`` when it names an image of the local engine: a reference by the grammar (tag or digest optional,
    not normalised), or an image id (``sha256:<64 hex>``, or 12 to 64 hex digits as ``docker images`` prints them).

    Raises:
        InvalidInputError: anything else (the reason in the message), a value starting with '-' included.
    """
    if _IMAGE_ID.match(value):
        return value
    parse_reference(value, default_tag=False)
    return value


def parse_repository(value: str) -> ImageReference:
    """A repository without tag or digest (for listing tags).

    Raises:
        InvalidInputError: invalid, or it carries a tag or digest.
    """
    ref = parse_reference(value, default_tag=False)
    if ref.tag or ref.digest:
        raise _invalid(value, "expected a repository without a tag or digest")
    return ref


def registry_host(registry: str) -> str:
    """``127.0.0.1:5001`` -> ``127.0.0.1``; ``[::1]:5000`` -> ``::1``; ``localhost`` -> ``localhost``."""
    if registry.startswith("["):
        return registry[1:].split("]", 1)[0]
    return registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry


def is_loopback(registry: str) -> bool:
    """A registry on this machine: 127.0.0.0/8, ::1 or localhost (the engine treats these as insecure by default)."""
    import ipaddress

    host = registry_host(registry).lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_insecure(registry: str, configured: Iterable[str] = ()) -> bool:
    """Spoken to over plain HTTP: a loopback registry (the engine's own default rule) or one configured as insecure
    (``registry.insecure_registries``, by ``host:port`` or by host)."""
    listed = set(configured)
    return is_loopback(registry) or registry in listed or registry_host(registry) in listed
