"""Registry tools: push_image, pull_image, registry_tags, retag_image (logic in containerkit.registry)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from containerkit import metrics
from containerkit.errors import InvalidInputError
from containerkit.imageref import TAG_RE, parse_reference, parse_repository
from containerkit.registry.credentials import CredentialResolver, Credentials, make_credentials
from containerkit.registry.oci import OciClient
from containerkit.registry.transfer import TransferPolicy, TransferReport, pull, push
from containerkit.settings import Settings
from containerkit.tools.base import ImageRef, ToolContext, ToolParams, ToolResult
from containerkit.tools.registry import REGISTRY


def _resolver(settings: Settings) -> CredentialResolver:
    from containerkit.engine.endpoint import current_environ

    return CredentialResolver(settings.registry, current_environ())


def resolver_of(ctx: ToolContext) -> CredentialResolver:
    return ctx.services.get(CredentialResolver, _resolver)


def policy_of(ctx: ToolContext) -> TransferPolicy:
    """Retry policy and insecure registries from settings (tests provide their own TransferPolicy)."""
    return ctx.services.get(
        TransferPolicy,
        lambda s: TransferPolicy(
            retries=s.registry.push_retries, insecure=tuple(s.registry.insecure_registries), lock_dir=lock_dir()
        ),
    )


def lock_dir() -> Path:
    """Per-user locks shared by every home and process of that user (the engine is shared by them all)."""
    import os
    import tempfile

    return Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"containerkit-{os.getuid()}-locks"


class CredentialParams(ToolParams):
    username: str | None = Field(None, description="Registry username for this call (with password).")
    password: SecretStr | None = Field(
        None, description="Registry password or token for this call; never stored or logged."
    )

    def explicit(self) -> Credentials | None:
        if (self.username is None) != (self.password is None):
            raise InvalidInputError(
                "give both username and password, or neither",
                hint="Pass --username with --password-stdin or --password-file.",
            )
        if self.username is None or self.password is None:
            return None
        return make_credentials(self.username, self.password.get_secret_value(), "explicit")


class TransferParams(CredentialParams):
    reference: ImageRef = Field(
        description="Image reference, e.g. 127.0.0.1:5001/team/app:1.0 (pull also accepts @sha256:...)."
    )


class PushParams(TransferParams):
    image: str | None = Field(
        None,
        pattern=r"^sha256:[0-9a-f]{64}$",
        description="Local image id to push under the reference: tagged again first, under a lock "
        "per reference, and the registry must then serve a manifest of exactly this image.",
    )


class TransferResult(ToolResult):
    transfer: TransferReport

    def record_metrics(self, tool: str) -> None:
        if tool == "push_image":
            metrics.push(self.transfer.duration_s, self.transfer.bytes)


@REGISTRY.tool(
    "push_image",
    effects=("pushes", "moves_tags"),
    title="Push an image",
    group="engine",
    params=PushParams,
    result=TransferResult,
    idempotent=True,
    store_result=True,
    description="Push a local image tag (or a given image id under that tag) to its registry with per-layer progress; "
    "transient failures are retried with backoff (never auth failures, never a push that succeeded); the registry must "
    "then serve the pushed manifest digest, and a manifest whose config is the pushed image.",
)
async def push_image(ctx: ToolContext, params: PushParams) -> TransferResult:
    explicit = params.explicit()
    ref = parse_reference(params.reference)
    engine = await ctx.engine_for(params.image or ref.familiar)
    report = await push(engine, resolver_of(ctx), ref, explicit, policy_of(ctx), ctx.report, image=params.image)
    return TransferResult(transfer=report)


@REGISTRY.tool(
    "pull_image",
    effects=("reads_registry", "moves_tags"),
    title="Pull an image",
    group="engine",
    params=TransferParams,
    result=TransferResult,
    idempotent=True,
    description="Pull an image by tag or digest onto the engine, with per-layer progress and retries on transient "
    "failures.",
)
async def pull_image(ctx: ToolContext, params: TransferParams) -> TransferResult:
    explicit = params.explicit()
    ref = parse_reference(params.reference)
    engine = ctx.engines().default
    report = await pull(engine, resolver_of(ctx), ref, explicit, policy_of(ctx), ctx.report)
    return TransferResult(transfer=report)


class RegistryTagsParams(CredentialParams):
    repository: str = Field(description="Repository without tag, e.g. 127.0.0.1:5001/team/app.")


class RegistryTagsResult(ToolResult):
    repository: str
    tags: list[str]


@REGISTRY.tool(
    "registry_tags",
    effects=("reads_registry",),
    title="List registry tags",
    group="engine",
    params=RegistryTagsParams,
    result=RegistryTagsResult,
    idempotent=True,
    description="List the tags of a repository straight from the registry (OCI distribution API, no engine needed).",
)
async def registry_tags(ctx: ToolContext, params: RegistryTagsParams) -> RegistryTagsResult:
    explicit = params.explicit()
    repo = parse_repository(params.repository)
    creds = await resolver_of(ctx).resolve(repo.registry, explicit)
    policy = policy_of(ctx)
    async with OciClient(repo.registry, creds, insecure=policy.insecure, transport=policy.transport) as oci:
        tags = await oci.list_tags(repo.repository)
    return RegistryTagsResult(repository=repo.name, tags=sorted(tags))


class RetagParams(CredentialParams):
    source: str = Field(description="Existing remote reference (tag or digest), e.g. 127.0.0.1:5001/team/app:1.0.")
    new_tag: str = Field(description="The additional tag in the same repository, e.g. stable.")


class RetagResult(ToolResult):
    source: str
    target: str
    digest: str = Field(description="Manifest digest now served under the new tag.")


@REGISTRY.tool(
    "retag_image",
    effects=("pushes",),
    title="Retag remotely",
    group="engine",
    params=RetagParams,
    result=RetagResult,
    idempotent=True,
    description="Add a tag to an image in its registry without pulling it: the manifest is copied under the new tag.",
)
async def retag_image(ctx: ToolContext, params: RetagParams) -> RetagResult:
    explicit = params.explicit()
    source = parse_reference(params.source)
    if not TAG_RE.match(params.new_tag):
        raise InvalidInputError(
            f"invalid tag {params.new_tag!r}", hint="A tag is 1-128 of [A-Za-z0-9_.-], not starting with . or -."
        )
    creds = await resolver_of(ctx).resolve(source.registry, explicit)
    policy = policy_of(ctx)
    async with OciClient(source.registry, creds, insecure=policy.insecure, transport=policy.transport) as oci:
        digest = await oci.retag(source, params.new_tag)
    return RetagResult(source=source.canonical, target=source.with_tag(params.new_tag).canonical, digest=digest)
