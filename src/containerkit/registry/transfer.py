"""Push and pull through the engine: credentials, per-layer progress, retries, digest verification."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, Field

from containerkit.engine.models import LayerProgress, TransferOutcome
from containerkit.engine.service import Engine
from containerkit.errors import (
    ContainerKitError,
    InvalidInputError,
    JSONValue,
    RegistryAuthError,
    RegistryDetails,
    RegistryError,
)
from containerkit.imageref import ImageReference, is_insecure
from containerkit.registry.credentials import CredentialResolver, Credentials
from containerkit.registry.oci import OciClient

ProgressFn = Callable[[float, float | None, str], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


class TransferReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: str = Field(description="Normalised reference (registry/repository:tag or @digest).")
    digest: str | None = Field(description="Manifest digest reported by the engine.")
    registry_digest: str | None = Field(
        None, description="Docker-Content-Digest the registry serves for the tag (push)."
    )
    image: str | None = Field(None, description="Local image id that was pushed (push).")
    verified: bool = Field(
        False, description="The registry serves the pushed manifest digest, and its config is the pushed image."
    )
    verification: str | None = Field(
        None, description="What the check after a push found, or why it could not be made."
    )
    attempts: int = Field(description="Engine attempts made (1 = no retry).")
    layers: int
    layers_existing: int = Field(description="Layers the destination already had.")
    bytes: int = Field(0, description="Bytes of the layers transferred (the ones the destination did not have).")
    credentials: str = Field(
        description="Where credentials came from: explicit, settings, docker config, helper, or none."
    )
    duration_s: float


@dataclass
class TransferPolicy:
    retries: int = 3
    backoff_s: float = 1.0
    insecure: Iterable[str] = ()
    sleep: Sleep = anyio.sleep
    transport: httpx.AsyncBaseTransport | None = None
    #: where the per-reference push locks live (None: no locking)
    lock_dir: Path | None = None


class _LayerView:
    """Reports each layer's status changes; the progress value counts changes, so it strictly increases."""

    def __init__(self, action: str, progress: ProgressFn) -> None:
        self.action, self.progress = action, progress
        self.status: dict[str, str] = {}
        self.changes = 0

    async def __call__(self, event: LayerProgress) -> None:
        if self.status.get(event.layer) == event.status:
            return
        self.status[event.layer] = event.status
        self.changes += 1
        finished = {"Pushed", "Layer already exists", "Pull complete", "Already exists"}
        done = sum(1 for s in self.status.values() if s in finished or s.startswith("Mounted from"))
        await self.progress(
            self.changes,
            None,
            f"{self.action} layer {event.layer}: {event.status} ({done}/{len(self.status)} layers done)",
        )


async def _with_retries(
    action: str,
    ref: ImageReference,
    creds: Credentials | None,
    policy: TransferPolicy,
    attempt_fn: Callable[[], Awaitable[TransferOutcome]],
) -> tuple[TransferOutcome, int]:
    attempt = 0
    while True:
        attempt += 1
        try:
            return await attempt_fn(), attempt
        except RegistryAuthError as e:
            e.details["attempts"] = attempt
            e.hint = (
                f"The credentials from {creds.source} were refused by {ref.registry}; check the username and password."
                if creds
                else f"{ref.registry} needs credentials: `docker login {ref.registry}`, or pass --username "
                "with --password-stdin (or CONTAINERKIT_REGISTRY__USERNAME/__PASSWORD)."
            )
            raise
        except ContainerKitError as e:
            if not e.retryable or attempt > policy.retries:
                e.details["attempts"] = attempt
                raise
            await policy.sleep(e.retry_delay(policy.backoff_s * 2 ** (attempt - 1)))


async def push(
    engine: Engine,
    resolver: CredentialResolver,
    ref: ImageReference,
    explicit: Credentials | None,
    policy: TransferPolicy,
    progress: ProgressFn,
    *,
    image: str | None = None,
) -> TransferReport:
    """Push a local tag and check the registry serves what was pushed: the same manifest digest, and a manifest whose
    config is the image the tag named when the push began (``image``: the image the caller means, tagged again first).

    Tag, push and check run under a lock per reference (``policy.lock_dir``), so parallel runs of ours pushing the
    same reference never push each other's image. Only the engine's push is retried; a push that succeeded is never
    repeated, and a registry that cannot be reached to check it gives ``verified=False`` with the reason.

    Raises:
        InvalidInputError: the reference has no tag.
        RegistryAuthError: refused credentials (never retried). NetworkError/RegistryError: after the retries.
        RegistryError(IMAGE_MISMATCH): the registry now serves another image under the tag (moved by someone else).
        NotFoundError: no such local image.
    """
    if not ref.tag:
        raise InvalidInputError(
            f"push needs a tag, got {ref.canonical}",
            hint="Push registry/repository:tag (tag the image first with {tool:tag_image}).",
        )
    started = time.monotonic()
    creds = await resolver.resolve(ref.registry, explicit)
    auth = creds.auth_config(ref.registry) if creds else None
    view = _LayerView("push", progress)
    repository, _, tag = ref.familiar.rpartition(":")
    async with reference_lock(policy.lock_dir, ref.canonical):
        if image is not None:
            await engine.tag(image, repository, tag)
            expected = image
        else:
            expected = (await engine.inspect(f"{repository}:{tag}")).id
        outcome, attempts = await _with_retries(
            "push", ref, creds, policy, lambda: engine.push(ref.name, ref.tag or "latest", auth, view)
        )
        served, images, unverified = None, [], None
        try:
            async with OciClient(ref.registry, creds, insecure=policy.insecure, transport=policy.transport) as oci:
                served = await oci.manifest_digest(ref)
                if served:
                    images = await _image_ids(oci, ref.with_digest(served), served)
        except ContainerKitError as e:  # the push itself succeeded: say the check could not be made, never push again
            unverified = f"pushed, but the registry could not be read back to verify it: {e.message}" + (
                ""
                if is_insecure(ref.registry, policy.insecure)
                else f" (if {ref.registry} speaks plain HTTP, add it to registry.insecure_registries)"
            )
    if outcome.digest and served and served != outcome.digest:
        raise RegistryError(
            f"{ref.canonical}: the registry serves {served}, but the engine pushed {outcome.digest}",
            code="DIGEST_MISMATCH",
            retryable=False,
            hint="Another push replaced the tag concurrently; push again and pin by digest.",
        )
    if served and expected not in images:
        raise RegistryError(
            f"{ref.canonical}: the registry serves image {', '.join(images) or 'unknown'}, not the pushed "
            f"image {expected}",
            code="IMAGE_MISMATCH",
            retryable=False,
            details=RegistryDetails(expected_image=expected, served_images=list[JSONValue](images)),
            hint="Something outside this run moved the tag during the push; push again and deploy by digest.",
        )
    await progress(view.changes + 1, view.changes + 1, f"pushed {ref.canonical} {outcome.digest or ''}")
    return TransferReport(
        reference=ref.canonical,
        digest=outcome.digest,
        registry_digest=served,
        image=expected,
        verified=bool(served and served == outcome.digest and expected in images),
        verification=unverified
        or (
            "the registry serves the pushed manifest of this image"
            if served
            else "the registry does not list the tag after the push"
        ),
        attempts=attempts,
        layers=outcome.layers,
        layers_existing=outcome.layers_existing,
        bytes=outcome.bytes,
        credentials=creds.source if creds else "none",
        duration_s=round(time.monotonic() - started, 3),
    )


async def _image_ids(oci: OciClient, ref: ImageReference, digest: str) -> list[str]:
    """The image ids a manifest stands for: its own digest (an engine with the containerd store names images so) and
    the config digest of the manifest, or of each manifest of an index."""
    manifest = await oci.get_manifest(ref)
    body = json.loads(manifest.body or b"{}")
    ids = [digest]
    if isinstance(body.get("config"), dict):
        ids.append(str(body["config"].get("digest", "")))
    for entry in body.get("manifests") or []:
        child = str(entry.get("digest", ""))
        if child and len(ids) < 64:
            ids.extend((await _image_ids(oci, ref.with_digest(child), child))[1:])
    return [i for i in ids if i]


@asynccontextmanager
async def reference_lock(lock_dir: Path | None, reference: str) -> AsyncIterator[None]:
    """An exclusive lock per image reference across processes (flock on a file; released when the process dies).
    Held while a reference is tagged and while it is pushed and checked, so no run of ours moves a tag mid-push."""
    if lock_dir is None:
        yield
        return
    os.makedirs(lock_dir, mode=0o700, exist_ok=True)  # a few syscalls: not worth a thread
    path = lock_dir / f"push-{hashlib.sha256(reference.encode()).hexdigest()[:24]}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await anyio.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


async def pull(
    engine: Engine,
    resolver: CredentialResolver,
    ref: ImageReference,
    explicit: Credentials | None,
    policy: TransferPolicy,
    progress: ProgressFn,
) -> TransferReport:
    """Pull a tag or digest.

    Raises:
        RegistryAuthError, NotFoundError, NetworkError, RegistryError.
    """
    started = time.monotonic()
    creds = await resolver.resolve(ref.registry, explicit)
    auth = creds.auth_config(ref.registry) if creds else None
    view = _LayerView("pull", progress)
    outcome, attempts = await _with_retries(
        "pull", ref, creds, policy, lambda: engine.pull(ref.name, ref.tag_or_digest, auth, view)
    )
    digest = outcome.digest or ref.digest
    await progress(view.changes + 1, view.changes + 1, f"pulled {ref.canonical}")
    return TransferReport(
        reference=ref.canonical,
        digest=digest,
        registry_digest=None,
        verified=bool(ref.digest and digest == ref.digest),
        attempts=attempts,
        layers=outcome.layers,
        layers_existing=outcome.layers_existing,
        bytes=outcome.bytes,
        credentials=creds.source if creds else "none",
        duration_s=round(time.monotonic() - started, 3),
    )
