"""`prepare_cluster` / `containerkit cluster create`.

kind is not installed here (and no kind node image could run on this kernel), so:
- without kind: a clear TOOL_MISSING error with how to install it — real, nothing faked;
- the wiring (registry container, containerd certs.d hosts on every node, the registry joining the kind network, the
  local-registry-hosting ConfigMap, the image pushed where the nodes pull it) runs against a stand-in ``kind``
  program whose nodes are real containers on a real ``kind`` network, a real registry container (Debian's
  docker-registry binary), and the fake Kubernetes API server for the ConfigMap.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from containerkit.errors import ContainerKitError
from containerkit.k8s.cluster import KIND_INSTALL_HINT, kind_config
from tests.conftest import ROOT, Harness, build_context, free_port
from tests.k8s.conftest import CANARY_TOKEN

FAKE_KIND = r'''#!PYTHON
"""Stand-in for the kind CLI: `get clusters|nodes`, `create cluster`, `export kubeconfig`, `load docker-image`.

Nodes are real containers (sleeping) on the real docker network "kind", labelled like kind labels its nodes.
"""
import json, os, subprocess, sys

state_file = os.environ["FAKE_KIND_STATE"]
state = json.load(open(state_file)) if os.path.exists(state_file) else {"clusters": {}, "calls": []}
args = sys.argv[1:]
stdin = sys.stdin.read() if "-" in args else ""
state["calls"].append({"argv": args, "stdin": stdin})

def opt(name, default=None):
    return args[args.index(name) + 1] if name in args else default

def save():
    json.dump(state, open(state_file, "w"))

name = opt("--name", "kind")
if args[:2] == ["get", "clusters"]:
    if not state["clusters"]:
        print("No kind clusters found.", file=sys.stderr)
    for n in sorted(state["clusters"]):
        print(n)
elif args[:2] == ["create", "cluster"]:
    if name in state["clusters"]:
        print(f'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "{name}"',
              file=sys.stderr)
        save(); sys.exit(1)
    if subprocess.run(["docker", "network", "inspect", "kind"], capture_output=True).returncode != 0:
        subprocess.run(["docker", "network", "create", "kind"], check=True, capture_output=True)
    node = f"{name}-control-plane"
    subprocess.run(["docker", "run", "-d", "--name", node, "--network", "kind",
                    "--label", f"io.x-k8s.kind.cluster={name}",
                    os.environ["FAKE_KIND_NODE_IMAGE"], "sleep", "infinity"], check=True, capture_output=True)
    state["clusters"][name] = {"config": stdin, "nodes": [node]}
    print(f'Creating cluster "{name}" ...', file=sys.stderr)
elif args[:2] == ["get", "nodes"]:
    for node in state["clusters"].get(name, {}).get("nodes", []):
        print(node)
elif args[:2] == ["export", "kubeconfig"]:
    if name not in state["clusters"]:
        print(f'ERROR: could not locate any control plane nodes for cluster named "{name}"', file=sys.stderr)
        save(); sys.exit(1)
    target = opt("--kubeconfig", os.path.expanduser("~/.kube/config"))
    open(target, "w").write(open(os.environ["FAKE_KIND_KUBECONFIG"]).read().replace("CONTEXT", f"kind-{name}"))
    print(f'Set kubectl context to "kind-{name}"', file=sys.stderr)
elif args[:2] == ["load", "docker-image"]:
    image = args[2]
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        print(f'ERROR: image: "{image}" not present locally', file=sys.stderr)
        save(); sys.exit(1)
    print(f'Image: "{image}" with ID "..." not yet present on node "{name}-control-plane", loading...', file=sys.stderr)
else:
    print(f"unknown command {args}", file=sys.stderr)
    save(); sys.exit(64)
save()
'''

REGISTRY_CONFIG = """version: 0.1
storage: {filesystem: {rootdirectory: /var/lib/registry}}
http: {addr: ":5000"}
"""


def _env_without_kind(tmp_path: Path) -> dict[str, str]:
    """PATH with kind removed (it is not installed here anyway; this keeps the test true on a machine that has it)."""
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "kind").exists()]
    return {"PATH": os.pathsep.join(dirs)}


def test_without_kind_the_tool_says_how_to_install_it(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", _env_without_kind(tmp_path)["PATH"])
    with pytest.raises(ContainerKitError) as info:
        harness.call("prepare_cluster", name="dev")
    assert info.value.code == "TOOL_MISSING"
    assert "kind is not installed" in info.value.message and "kind.sigs.k8s.io" in info.value.hint
    assert info.value.hint == KIND_INSTALL_HINT
    job = harness.app.services.store.get_job(info.value.details["job_id"])
    assert job.status == "failed" and job.error_code == "TOOL_MISSING"


def test_cluster_create_cli_without_kind_exits_1_with_the_hint(tmp_path: Path) -> None:
    env = {
        **os.environ,
        **_env_without_kind(tmp_path),
        "CONTAINERKIT_HOME": str(tmp_path / "home"),
        "CONTAINERKIT_CONFIG": str(tmp_path / "none.yaml"),
    }
    out = subprocess.run(
        [sys.executable, "-m", "containerkit", "cluster", "create", "--name", "dev"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    assert (
        "[TOOL_MISSING] kind is not installed" in out.stderr and "hint:" in out.stderr and "Traceback" not in out.stderr
    )


def test_bad_cluster_name_is_refused_before_anything_runs(harness: Harness) -> None:
    with pytest.raises(ContainerKitError) as info:
        harness.call("prepare_cluster", name="-rm")
    assert info.value.code == "INVALID_INPUT"


def test_kind_config_sets_the_containerd_registry_config_path() -> None:
    config = kind_config()
    assert "apiVersion: kind.x-k8s.io/v1alpha4" in config
    assert 'config_path = "/etc/containerd/certs.d"' in config


# --- the wiring, with a stand-in kind -------------------------------------------------------------------------------


def _registry_image(docker_client: Any) -> str:
    """A registry image built here: Debian's docker-registry binary on the Debian stand-in base."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry is not installed (scripts/testenv installs it)")
    files: dict[str, str | bytes] = {
        "Dockerfile": "FROM debian:bookworm-slim\nCOPY docker-registry /usr/bin/docker-registry\nRUN chmod 0755 "
        "/usr/bin/docker-registry\n"
        'COPY config.yml /etc/registry.yml\nEXPOSE 5000\nCMD ["/usr/bin/docker-registry", "serve", '
        '"/etc/registry.yml"]\n',
        "config.yml": REGISTRY_CONFIG,
        "docker-registry": Path(binary).read_bytes(),
    }
    tag = "ck-test-kind-registry:1"
    docker_client.images.build(fileobj=build_context(files), custom_context=True, tag=tag, rm=True)
    return tag


@pytest.fixture
def harness_factory(ck_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from containerkit.app import build_app
    from containerkit.settings import load_settings

    built: list[Harness] = []

    def make(**env: str) -> Harness:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        harness = Harness(app=build_app(load_settings()), home=ck_home)
        built.append(harness)
        return harness

    yield make
    for harness in built:
        harness.app.services.store.close()


class FakeKind:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = root / "state.json"

    def calls(self) -> list[dict[str, Any]]:
        return list(json.loads(self.state.read_text())["calls"]) if self.state.exists() else []


@pytest.fixture
def fake_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_k8s: Any, docker_client: Any) -> Iterator[FakeKind]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kind = bin_dir / "kind"
    kind.write_text(FAKE_KIND.replace("PYTHON", sys.executable))
    kind.chmod(kind.stat().st_mode | stat.S_IXUSR)
    template = tmp_path / "kind-kubeconfig.yaml"
    # what `kind export kubeconfig` writes, pointing at the fake API server (a real kind cluster needs a node image that
    # can't run here)
    template.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "CONTEXT",
                "clusters": [{"name": "CONTEXT", "cluster": {"server": fake_k8s.api.url}}],
                "users": [{"name": "CONTEXT", "user": {"token": CANARY_TOKEN}}],
                "contexts": [{"name": "CONTEXT", "context": {"cluster": "CONTEXT", "user": "CONTEXT"}}],
            }
        )
    )
    fake_k8s.api.add("v1", "Namespace", {"metadata": {"name": "kube-public"}})
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KIND_STATE", str(tmp_path / "kind-state.json"))
    monkeypatch.setenv("FAKE_KIND_KUBECONFIG", str(template))
    monkeypatch.setenv("FAKE_KIND_NODE_IMAGE", "debian:bookworm-slim")
    fake = FakeKind(tmp_path)
    fake.state = tmp_path / "kind-state.json"
    yield fake


def test_cluster_is_created_wired_to_the_registry_and_reused(
    harness_factory: Any, fake_kind: FakeKind, fake_k8s: Any, docker_client: Any, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:6]
    name, registry_container, port = f"ck{suffix}", f"ck-test-kind-registry-{suffix}", free_port()
    harness = harness_factory(
        CONTAINERKIT_K8S__KIND_REGISTRY_CONTAINER=registry_container,
        CONTAINERKIT_K8S__KIND_REGISTRY_IMAGE=_registry_image(docker_client),
        CONTAINERKIT_K8S__KIND_REGISTRY_PORT=str(port),
    )
    app_image = f"ck-kind-app-{suffix}:v1"
    docker_client.images.get("debian:bookworm-slim").tag(app_image)
    node = f"{name}-control-plane"
    try:
        result = harness.call("prepare_cluster", name=name, image=app_image)
        assert result.created and result.nodes == [node] and result.context == f"kind-{name}"
        assert result.registry == f"localhost:{port}" and result.image == f"localhost:{port}/ck-kind-app-{suffix}:v1"
        # kind got the documented config on stdin
        create = next(c for c in fake_kind.calls() if c["argv"][:2] == ["create", "cluster"])
        assert (
            'config_path = "/etc/containerd/certs.d"' in create["stdin"]
            and create["argv"][create["argv"].index("--name") + 1] == name
        )
        # every node's containerd resolves localhost:<port> to the registry container
        hosts = docker_client.containers.get(node).exec_run(
            ["cat", f"/etc/containerd/certs.d/localhost:{port}/hosts.toml"]
        )
        assert hosts.exit_code == 0 and hosts.output.decode() == f'[host."http://{registry_container}:5000"]\n'
        # the registry joined the kind network, and from a node it serves the pushed image
        registry = docker_client.containers.get(registry_container)
        assert "kind" in registry.attrs["NetworkSettings"]["Networks"]
        tags = httpx.get(f"http://127.0.0.1:{port}/v2/ck-kind-app-{suffix}/tags/list", timeout=10).json()
        assert tags["tags"] == ["v1"]
        from_node = docker_client.containers.run(
            "python:3.12-slim",
            [
                "python3",
                "-c",
                f"import urllib.request;print(urllib.request.urlopen('http://{registry_container}:5000/v2/"
                f"ck-kind-app-{suffix}/tags/list').read().decode())",
            ],
            network="kind",
            remove=True,
        )
        assert '"v1"' in from_node.decode()
        # the local-registry-hosting ConfigMap went to the API server by server-side apply
        applied = fake_k8s.api.get("ConfigMap", "local-registry-hosting", "kube-public")
        assert applied is not None and f'host: "localhost:{port}"' in applied["data"]["localRegistryHosting.v1"]
        assert any(
            r.method == "PATCH"
            and r.path.endswith("/local-registry-hosting")
            and r.query.get("fieldManager") == "containerkit"
            and r.content_type.startswith("application/apply-patch")
            for r in fake_k8s.api.requests
        )
        assert CANARY_TOKEN not in result.model_dump_json()
        # a second run reuses the cluster and the registry
        again = harness.call("prepare_cluster", name=name)
        assert not again.created and "reused kind cluster" in " ".join(again.actions)
        assert sum(c["argv"][:2] == ["create", "cluster"] for c in fake_kind.calls()) == 1
    finally:
        for container in (node, registry_container):
            try:
                docker_client.containers.get(container).remove(force=True)
            except Exception:  # noqa: S112 - best-effort cleanup
                continue
        for ref in (app_image, f"localhost:{port}/ck-kind-app-{suffix}:v1"):
            try:
                docker_client.images.remove(ref)
            except Exception:  # noqa: S112
                continue
