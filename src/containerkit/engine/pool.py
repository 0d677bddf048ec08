"""A pool of build engines (``engine.pool``: Docker endpoints, as ``DOCKER_HOST`` spells them).

A build goes to the least busy engine that answers; when its engine dies under it (unreachable, or the connection
drops mid-build) the engine is taken out for a while and the build is run again on the next one — a build is
idempotent: the same context gives the same image. Everything done with an image afterwards (inspect, tag, push, run,
scan) goes to the engine that has it. Without a pool the one configured engine is the whole pool.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from containerkit.engine.builder import BuildOptions, BuildOutcome, LogSink, ProgressFn
from containerkit.engine.endpoint import current_environ
from containerkit.engine.service import Engine
from containerkit.errors import ContainerKitError, EngineUnavailableError, NotFoundError
from containerkit.settings import Settings

log = logging.getLogger("containerkit.engine")

#: how long an engine that failed stays out of the pool before it is tried again
DEAD_S = 30.0


class EnginePool:
    """Engines by endpoint; the first is the default one (what a pool of one is)."""

    def __init__(self, engines: list[Engine], clock: Callable[[], float] = time.monotonic) -> None:
        self.engines = engines
        self._busy = [0] * len(engines)
        self._dead_until = [0.0] * len(engines)
        self._placed: dict[str, int] = {}  # image id or tag -> the engine that built it
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> EnginePool:
        if not settings.engine.pool:
            return cls([Engine.from_settings(settings)])
        environ = current_environ()
        return cls(
            [Engine(settings.engine.model_copy(update={"docker_host": ep}), environ) for ep in settings.engine.pool]
        )

    @property
    def default(self) -> Engine:
        return self.engines[0]

    def name(self, engine: Engine) -> str:
        return engine.settings.docker_host or engine.docker_endpoint().base_url

    def _alive(self, i: int) -> bool:
        return self._dead_until[i] <= self._clock()

    def _take_out(self, i: int, why: ContainerKitError) -> None:
        self._dead_until[i] = self._clock() + DEAD_S
        log.warning("engine %s taken out of the pool for %.0f s: %s", self.name(self.engines[i]), DEAD_S, why.message)

    def _order(self) -> list[int]:
        """Engines to try for new work: those answering first, the least busy first, the pool's order on a tie."""
        return sorted(range(len(self.engines)), key=lambda i: (not self._alive(i), self._busy[i], i))

    async def build(
        self, options: BuildOptions, on_progress: ProgressFn, on_log: LogSink
    ) -> tuple[Engine, BuildOutcome]:
        """Build on the least busy engine that answers; an engine that dies under the build is taken out and the build
        runs again on the next one.

        Raises:
            ContainerKitError: the build's own failure (a Dockerfile error fails on every engine alike), or the last
                engine's unavailability when none is left.
        """
        last: ContainerKitError | None = None
        for i in self._order():
            engine = self.engines[i]
            self._busy[i] += 1  # counted before the first await: builds started together go to different engines
            try:
                if len(self.engines) > 1 and not await self._answers(i):
                    continue
                outcome = await engine.build(options, on_progress, on_log)
            except ContainerKitError as e:
                if len(self.engines) == 1 or not await self._died(i, e):
                    raise
                last = e
                await on_progress(0, None, f"engine {self.name(engine)} failed ({e.code}): building on the next one")
                continue
            finally:
                self._busy[i] -= 1
            self._placed[outcome.image_id] = i
            for tag in options.tags:
                self._placed[tag] = i
            return engine, outcome
        raise last or EngineUnavailableError(
            f"no engine of the pool ({', '.join(self.name(e) for e in self.engines)}) answers",
            details={"engines": [self.name(e) for e in self.engines]},
        )

    async def _answers(self, i: int) -> bool:
        ok, detail = await self.engines[i].ping()
        if not ok:
            self._take_out(i, EngineUnavailableError(detail))
        return ok

    async def _died(self, i: int, error: ContainerKitError) -> bool:
        """After a failed build: was it the engine (it no longer answers) rather than the build?"""
        if isinstance(error, EngineUnavailableError):
            self._take_out(i, error)
            return True
        engine = self.engines[i]
        engine.close()  # a dropped connection leaves the client unusable: ask afresh
        ok, _ = await engine.ping()
        if not ok:
            self._take_out(i, error)
        return not ok

    async def for_image(self, ref: str) -> Engine:
        """The engine holding ``ref`` (an image id or tag): the one that built it in this process, else the first
        engine answering that has it, else the default engine (which then reports it missing, or pulls it)."""
        if len(self.engines) == 1:
            return self.default
        placed = self._placed.get(ref)
        if placed is not None and self._alive(placed):
            return self.engines[placed]
        for i in self._order():
            if not self._alive(i):
                continue
            try:
                await self.engines[i].inspect(ref)
            except NotFoundError:
                continue
            except EngineUnavailableError as e:
                self._take_out(i, e)
                continue
            self._placed[ref] = i
            return self.engines[i]
        return self.default

    def close(self) -> None:
        for engine in self.engines:
            engine.close()
