"""Push and pull through the engine: credentials, per-layer progress, retries, digest verification."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, Field

from containerkit.engine.models import LayerProgress, TransferOutcome
from containerkit.engine.service import Engine
from containerkit.errors import ContainerKitError, InvalidInputError, RegistryAuthError, RegistryError
from containerkit.registry.credentials import CredentialResolver, Credentials
from containerkit.registry.oci import OciClient
from containerkit.registry.reference import ImageReference

ProgressFn = Callable[[float, float | None, str], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


class TransferReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: str = Field(description="Normalised reference (registry/repository:tag or @digest).")
    digest: str | None = Field(description="Manifest digest reported by the engine.")
    registry_digest: str | None = Field(None, description="Docker-Content-Digest the registry serves for the tag (push).")
    verified: bool = Field(False, description="The registry's digest equals the pushed one.")
    attempts: int = Field(description="Engine attempts made (1 = no retry).")
    layers: int
    layers_existing: int = Field(description="Layers the destination already had.")
    credentials: str = Field(description="Where credentials came from: explicit, settings, docker config, helper, or none.")
    duration_s: float


@dataclass
class TransferPolicy:
    retries: int = 3
    backoff_s: float = 1.0
    insecure: Iterable[str] = ()
    sleep: Sleep = anyio.sleep
    transport: httpx.AsyncBaseTransport | None = None


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
        await self.progress(self.changes, None,
                            f"{self.action} layer {event.layer}: {event.status} ({done}/{len(self.status)} layers done)")


async def _with_retries(
    action: str, ref: ImageReference, creds: Credentials | None, policy: TransferPolicy,
    attempt_fn: Callable[[], Awaitable[TransferOutcome]],
) -> tuple[TransferOutcome, int]:
    attempt = 0
    while True:
        attempt += 1
        try:
            return await attempt_fn(), attempt
        except RegistryAuthError as e:
            e.details["attempts"] = attempt
            e.hint = (f"The credentials from {creds.source} were refused by {ref.registry}; check the username and password."
                      if creds else f"{ref.registry} needs credentials: `docker login {ref.registry}`, or pass --username "
                      "with --password-stdin (or CONTAINERKIT_REGISTRY__USERNAME/__PASSWORD).")
            raise
        except ContainerKitError as e:
            if not e.retryable or attempt > policy.retries:
                e.details["attempts"] = attempt
                raise
            await policy.sleep(policy.backoff_s * 2 ** (attempt - 1))


async def push(engine: Engine, resolver: CredentialResolver, ref: ImageReference, explicit: Credentials | None,
               policy: TransferPolicy, progress: ProgressFn) -> TransferReport:
    """Push a local tag and check the registry serves the same digest.

    Raises:
        InvalidInputError: the reference has no tag.
        RegistryAuthError: refused credentials (never retried). NetworkError/RegistryError: after the retries.
        NotFoundError: no such local image.
    """
    if not ref.tag:
        raise InvalidInputError(f"push needs a tag, got {ref.canonical}",
                                hint="Push registry/repository:tag (tag the image first with {tool:tag_image}).")
    started = time.monotonic()
    creds = await resolver.resolve(ref.registry, explicit)
    auth = creds.auth_config(ref.registry) if creds else None
    view = _LayerView("push", progress)
    outcome, attempts = await _with_retries("push", ref, creds, policy, lambda: engine.push(ref.name, ref.tag or "latest", auth, view))
    async with OciClient(ref.registry, creds, insecure=policy.insecure, transport=policy.transport) as oci:
        served = await oci.manifest_digest(ref)
    if outcome.digest and served and served != outcome.digest:
        raise RegistryError(f"{ref.canonical}: the registry serves {served}, but the engine pushed {outcome.digest}",
                            code="DIGEST_MISMATCH", retryable=False,
                            hint="Another push replaced the tag concurrently; push again and pin by digest.")
    await progress(view.changes + 1, view.changes + 1, f"pushed {ref.canonical} {outcome.digest or ''}")
    return TransferReport(reference=ref.canonical, digest=outcome.digest, registry_digest=served,
                          verified=bool(served and served == outcome.digest), attempts=attempts, layers=outcome.layers,
                          layers_existing=outcome.layers_existing, credentials=creds.source if creds else "none",
                          duration_s=round(time.monotonic() - started, 3))


async def pull(engine: Engine, resolver: CredentialResolver, ref: ImageReference, explicit: Credentials | None,
               policy: TransferPolicy, progress: ProgressFn) -> TransferReport:
    """Pull a tag or digest.

    Raises:
        RegistryAuthError, NotFoundError, NetworkError, RegistryError.
    """
    started = time.monotonic()
    creds = await resolver.resolve(ref.registry, explicit)
    auth = creds.auth_config(ref.registry) if creds else None
    view = _LayerView("pull", progress)
    outcome, attempts = await _with_retries("pull", ref, creds, policy,
                                            lambda: engine.pull(ref.name, ref.tag_or_digest, auth, view))
    digest = outcome.digest or ref.digest
    await progress(view.changes + 1, view.changes + 1, f"pulled {ref.canonical}")
    return TransferReport(reference=ref.canonical, digest=digest, registry_digest=None, verified=bool(ref.digest and digest == ref.digest),
                          attempts=attempts, layers=outcome.layers, layers_existing=outcome.layers_existing,
                          credentials=creds.source if creds else "none", duration_s=round(time.monotonic() - started, 3))
