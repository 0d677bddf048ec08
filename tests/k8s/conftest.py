"""Fixtures for deploy/verify tests: the fake Kubernetes API server, a kubeconfig pointing at it, an app using it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from containerkit.app import build_app
from containerkit.k8s.rollout import RolloutPolicy
from containerkit.settings import load_settings
from containerkit.tools.k8s_deploy import KubeEnviron
from tests.conftest import Harness, free_port
from tests.k8s.fake_api import FakeKube

DATA = Path(__file__).parent / "data"
#: the kubeconfig's bearer token: a canary that must never show up in results, errors, CLI output or the store
CANARY_TOKEN = "kube-canary-7f3e9c1d2b"
GOOD_IMAGE = "127.0.0.1:5001/demo/web:1.0"
CRASH_IMAGE = "127.0.0.1:5001/demo/web:2.0-crash"


@dataclass
class FakeCluster:
    api: FakeKube
    kubeconfig: Path


def write_kubeconfig(path: Path, server: str, token: str) -> Path:
    dead = f"http://127.0.0.1:{free_port()}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": server}}, {"name": "dead", "cluster": {"server": dead}}],
        "users": [{"name": "ck-test", "user": {"token": token}}, {"name": "stale", "user": {"token": "not-the-token"}}],
        "contexts": [
            {"name": "fake", "context": {"cluster": "fake", "user": "ck-test"}},
            {"name": "stale-token", "context": {"cluster": "fake", "user": "stale"}},
            {"name": "unreachable", "context": {"cluster": "dead", "user": "ck-test"}},
        ],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def fake_k8s(tmp_path: Path) -> Iterator[FakeCluster]:
    api = FakeKube(token=CANARY_TOKEN).start()
    try:
        yield FakeCluster(api=api, kubeconfig=write_kubeconfig(tmp_path / "kubeconfig", api.url, CANARY_TOKEN))
    finally:
        api.stop()


@pytest.fixture
def k8s(ck_home: Path, fake_k8s: FakeCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """An app whose kubeconfig is the fake's, polling rollouts every 10 ms."""
    monkeypatch.setenv("CONTAINERKIT_K8S__KUBECONFIG", str(fake_k8s.kubeconfig))
    app = build_app(load_settings())
    app.services.provide(RolloutPolicy, RolloutPolicy(poll_interval_s=0.01, log_tail_lines=20))
    app.services.provide(KubeEnviron, KubeEnviron({}))
    yield Harness(app=app, home=ck_home)
    app.services.store.close()


def manifests(dest: Path, image: str = GOOD_IMAGE) -> Path:
    """Copy tests/k8s/data/web to ``dest`` with the image filled in."""
    dest.mkdir(parents=True, exist_ok=True)
    for src in sorted((DATA / "web").glob("*.yaml")):
        (dest / src.name).write_text(src.read_text().replace("__IMAGE__", image))
    return dest
