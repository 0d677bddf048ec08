"""`containerkit cluster create`: a local kind cluster wired to a local registry; `cluster prepare`: an existing one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.text import Text

from containerkit.cli.params import tool_options
from containerkit.cli.runner import invoke

if TYPE_CHECKING:
    from containerkit.tools.k8s_cluster import PrepareClusterResult


def _render(out: Console, r: PrepareClusterResult) -> None:
    out.print(
        Text.assemble(
            ("created" if r.created else "reused", "green"),
            " kind cluster ",
            (r.cluster, "bold"),
            f" ({len(r.nodes)} node(s)); context ",
            (r.context, "bold"),
        )
    )
    for action in r.actions:
        out.print(f"  - {action}")
    out.print(f"registry: {r.registry} (container {r.registry_container})   kubeconfig: {r.kubeconfig}")
    if r.image:
        out.print(
            Text.assemble(
                "the cluster pulls: ", (r.image, "bold"), f"  →  containerkit manifests PATH --image {r.image}"
            )
        )


def _render_prepared(out: Console, r: PrepareClusterResult) -> None:
    out.print(Text.assemble("prepared ", (f"{r.context}/{r.namespace}", "bold"), f" ({len(r.nodes)} node(s))"))
    for action in r.actions:
        out.print(f"  - {action}")
    for warning in r.warnings:
        out.print(Text.assemble(("warning: ", "yellow"), warning))


#: prepare_cluster's fields for an existing cluster, and those for a kind cluster it creates
EXISTING_CLUSTER = ("context", "namespace", "registry", "ingress")
KIND_CLUSTER = ("name", "registry_port", "image_mode", "node_image", "timeout_s")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Local Kubernetes clusters (kind) wired to a local registry.", no_args_is_help=True)
    app.add_typer(group, name="cluster")

    @group.command("create")
    @tool_options(
        "prepare_cluster",
        given={"image_mode": "load", "timeout_s": "timeout"},
        without={f: "an existing cluster's: `containerkit cluster prepare`" for f in EXISTING_CLUSTER},
    )
    def create(
        name: str = typer.Option("containerkit", "--name", help="kind cluster name (reused when it exists)."),
        registry_port: int = typer.Option(
            None, "--registry-port", help="Host port of the local registry container (default 5001)."
        ),
        image: str = typer.Option(None, "--image", help="Local image to make pullable by the cluster."),
        load: bool = typer.Option(
            False, "--load", help="Load the image into the nodes instead of pushing it to the registry."
        ),
        node_image: str = typer.Option(None, "--node-image", help="kindest/node image."),
        timeout: float = typer.Option(600, "--timeout", help="Seconds to wait for the cluster."),
        as_json: bool = typer.Option(False, "--json", help="Print the tool's result model as JSON."),
        derived: dict[str, object] | None = None,
    ) -> None:
        """Create (or reuse) a kind cluster with a local registry, and push or load an image into it."""
        invoke(
            "prepare_cluster",
            {
                "name": name,
                "registry_port": registry_port,
                "image": image,
                "image_mode": "load" if load else "push",
                "node_image": node_image,
                "timeout_s": timeout,
                **(derived or {}),
            },
            as_json=as_json,
            render=_render,
            progress_title=f"cluster {name}",
        )

    @group.command("prepare")
    @tool_options(
        "prepare_cluster", without={f: "a kind cluster's: `containerkit cluster create`" for f in KIND_CLUSTER}
    )
    def prepare(
        context: str = typer.Option(..., "--context", help="The existing cluster's kubeconfig context."),
        namespace: str = typer.Option(
            None, "--namespace", "-n", help="Namespace to create when missing (default settings.k8s.namespace)."
        ),
        registry: str = typer.Option(
            None, "--registry", help="Registry the pods pull from (a pull Secret when it needs credentials)."
        ),
        image: str = typer.Option(None, "--image", help="Local image to check against the nodes' architecture."),
        ingress: bool = typer.Option(
            False, "--ingress", help="An Ingress will be deployed: check for an ingress controller."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the tool's result model as JSON."),
        derived: dict[str, object] | None = None,
    ) -> None:
        """Prepare an existing cluster: namespace, registry pull access, architecture and ingress checks."""
        invoke(
            "prepare_cluster",
            {
                "context": context,
                "namespace": namespace,
                "registry": registry,
                "image": image,
                "ingress": ingress,
                **(derived or {}),
            },
            as_json=as_json,
            render=_render_prepared,
            progress_title=f"prepare {context}",
        )
