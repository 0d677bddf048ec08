"""What tools keep in a session for later calls, as typed documents (``ToolContext.put_state`` / ``stored``).

Keys: ``analysis`` (:class:`~containerkit.analysis.models.RepoAnalysis`), ``repo_path`` (str), ``dockerfile``,
``manifests``, ``cluster``, ``scans`` (below), and ``results.<tool>`` (a tool's last result, when it keeps one). A
writer and a reader share the model, so they cannot disagree on a key.
"""

from __future__ import annotations

from pydantic import Field, RootModel

from containerkit.tools.base import Model


class DockerfileState(Model):
    """What generate_dockerfile decided, for the manifests and the lint of the same service."""

    service: str = Field(description="Service path relative to the repository root.")
    user_uid: int
    port: int | None
    path: str | None = Field(description="The Dockerfile written, if one was.")
    kept_existing: bool


class ManifestsState(Model):
    app_name: str
    namespace: str
    out_dir: str
    format: str


class ClusterState(Model):
    """The cluster prepare_cluster made or prepared."""

    context: str
    kubeconfig: str
    name: str | None = None
    registry: str | None = Field(None, description="The registry address the cluster pulls from (a kind cluster).")
    namespace: str | None = None


class ScanMemo(Model):
    """The last scan of an image repository, for the trend of the next one."""

    artifact_id: str
    image: str
    scanned_at: str
    keys: list[str]
    counts: dict[str, int]


class ScansState(RootModel[dict[str, ScanMemo]]):
    """The last scan of each image repository, by repository."""
