"""The built-in `containerize` pipeline, expressed as a workflow spec for the one DAG runner.

analyze → dockerfile → lint → secrets → build → smoke → scan → tag → push → manifests → validate → deploy → verify.
Steps that do not apply (no registry, no --deploy) are skipped with a reason; ``until`` stops after a step.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from containerkit.errors import InvalidInputError
from containerkit.imageref import parse_reference
from containerkit.workflow.spec import WorkflowSpec

StepName = Literal[
    "analyze",
    "dockerfile",
    "lint",
    "secrets",
    "build",
    "smoke",
    "scan",
    "tag",
    "push",
    "manifests",
    "validate",
    "deploy",
    "verify",
]
#: the containerize pipeline's steps, in order
STEPS: tuple[StepName, ...] = get_args(StepName)
IMAGE = "${{ steps.build.outputs.image_id }}"


def containerize_spec(
    *,
    path: str,
    service: str | None,
    registry: str | None,
    tag: str,
    deploy: bool,
    context: str | None,
    namespace: str,
    fail_on: str,
    until: str | None,
    fail_on_secrets: str = "none",
    allow_production: bool = False,
    name: str,
) -> WorkflowSpec:
    """The pipeline for one repository (and one service of it).

    Raises:
        InvalidInputError: ``until`` names no step.
    """
    if deploy and not registry:
        raise InvalidInputError(
            "--deploy needs --registry: the cluster pulls the image from a registry",
            hint="Pass --registry HOST[:PORT][/NAMESPACE] (for kind, the local registry of {tool:prepare_cluster}).",
        )
    if until is not None and until not in STEPS:
        raise InvalidInputError(f"--until {until!r} is not a pipeline step", hint=f"Steps: {', '.join(STEPS)}.")
    local_ref = f"{name}:{tag}"
    remote_ref = f"{registry.rstrip('/')}/{name}:{tag}" if registry else ""
    for given, ref in (("tag", local_ref), ("registry", remote_ref)):
        try:
            if ref:
                parse_reference(ref, default_tag=False)
        except InvalidInputError as e:  # refused before the first step, not after the build and smoke test
            value = tag if given == "tag" else registry
            raise InvalidInputError(
                f"{given} {value!r} does not make a valid image reference ({ref}): {e.message}",
                hint=(
                    "Pass {param:registry} as HOST[:PORT][/NAMESPACE], e.g. 127.0.0.1:5001/team."
                    if given == "registry"
                    else "Pass {param:tag} as 1-128 of [A-Za-z0-9_.-], not starting with . or -."
                ),
                details={"parameter": given},
            ) from None
    svc = {"service": service} if service else {}
    steps: list[dict[str, Any]] = [
        {"id": "analyze", "tool": "analyze_repository", "title": "Analyze the repository", "params": {"path": path}},
        {
            "id": "dockerfile",
            "tool": "generate_dockerfile",
            "title": "Write the Dockerfile (or validate the existing one)",
            "depends_on": ["analyze"],
            "params": {"path": path, "write": True, **svc},
        },
        {
            "id": "lint",
            "tool": "validate_dockerfile",
            "title": "Lint the Dockerfile",
            "depends_on": ["dockerfile"],
            "params": {"path": "${{ steps.dockerfile.outputs.service_dir }}"},
        },
        {
            "id": "secrets",
            "tool": "scan_secrets",
            "title": "Scan the build context for secrets",
            "depends_on": ["dockerfile"],
            "params": {"target": "${{ steps.dockerfile.outputs.service_dir }}", "fail_on": fail_on_secrets},
        },
        {
            "id": "build",
            "tool": "build_image",
            "title": "Build the image",
            "depends_on": ["lint", "secrets"],
            "retries": 1,
            "params": {"path": "${{ steps.dockerfile.outputs.service_dir }}", "tags": [local_ref]},
        },
        {
            "id": "smoke",
            "tool": "smoke_test_image",
            "title": "Run the image and probe it",
            "depends_on": ["build", "dockerfile"],
            "params": {
                "image": IMAGE,
                "port": "${{ steps.dockerfile.outputs.port }}",
                "path": "${{ steps.dockerfile.outputs.health_path }}",
            },
        },
        {
            "id": "scan",
            "tool": "scan_image",
            "title": "Scan for vulnerabilities (policy gate)",
            "depends_on": ["smoke"],
            "params": {"image": IMAGE, "fail_on": fail_on, "repo_path": "${{ steps.dockerfile.outputs.service_dir }}"},
        },
        {
            "id": "tag",
            "tool": "tag_image",
            "title": "Tag for the registry",
            "depends_on": ["scan"],
            "when": "inputs.registry",
            "skip_reason": "no registry given (--registry): nothing to tag or push",
            "params": {"source": IMAGE, "target": remote_ref or local_ref},
        },
        {
            "id": "push",
            "tool": "push_image",
            "title": "Push to the registry",
            "depends_on": ["tag"],
            "when": "inputs.registry",
            "skip_reason": "no registry given (--registry)",
            "retries": 2,
            "params": {"reference": remote_ref or local_ref, "image": IMAGE},
        },
        {
            "id": "manifests",
            "tool": "generate_manifests",
            "title": "Generate Kubernetes manifests",
            "depends_on": ["scan"],
            "params": {
                "path": path,
                "image": remote_ref or local_ref,
                "namespace": namespace,
                "user_uid": "${{ steps.dockerfile.outputs.user_uid }}",
                **svc,
            },
        },
        {
            "id": "validate",
            "tool": "validate_manifests",
            "title": "Validate the manifests",
            "depends_on": ["manifests"],
            "params": {"path": "${{ steps.manifests.outputs.out_dir }}"},
        },
        {
            "id": "deploy",
            "tool": "deploy_application",
            "title": "Deploy and wait for the rollout",
            "depends_on": ["validate", "push"],
            "when": "inputs.deploy",
            "skip_reason": "not asked to deploy (--deploy)",
            "params": {
                "path": "${{ steps.manifests.outputs.out_dir }}",
                "namespace": namespace,
                "create_namespace": True,
                **({"context": context} if context else {}),
                **({"allow_production": True} if allow_production else {}),
            },
        },
        {
            "id": "verify",
            "tool": "verify_deployment",
            "title": "Verify the deployment",
            "depends_on": ["deploy"],
            "when": "inputs.deploy",
            "skip_reason": "not asked to deploy (--deploy)",
            "params": {
                "name": "${{ steps.manifests.outputs.app_name }}",
                "namespace": namespace,
                **({"context": context} if context else {}),
            },
        },
    ]
    if until is not None:
        keep = STEPS[: STEPS.index(until) + 1]
        steps = [s for s in steps if s["id"] in keep]
        for s in steps:
            s["depends_on"] = [d for d in s.get("depends_on", []) if d in keep]
    inputs = {"path": path, "registry": registry or "", "deploy": deploy, "tag": tag}
    return WorkflowSpec.model_validate(
        {
            "name": "containerize",
            "description": f"containerize {path}",
            "inputs": inputs,
            "max_parallel": 1,
            "steps": steps,
        }
    )
