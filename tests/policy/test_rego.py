"""Users' Rego policies (conftest's conventions) in every gate, and the example policies of examples/policies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from containerkit.dockerfile.parse import conftest_input
from containerkit.errors import ContainerKitError, InvalidInputError
from containerkit.policy.rego import PolicySet
from tests.conftest import ROOT, Harness
from tests.mcp_adapter.test_mcp import run_client

EXAMPLES = ROOT / "examples" / "policies"
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web"}},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "127.0.0.1:5001/web:1.0"}]},
        },
    },
}


def policy(tmp_path: Path, text: str, name: str = "policy.rego") -> Path:
    folder = tmp_path / "policy"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder


def messages(policies: PolicySet, value: Any) -> list[tuple[str, str]]:
    return sorted((r.severity, r.message) for r in policies.evaluate(value))


# --- the engine ---------------------------------------------------------------------------------------------------

CONFTEST_EXAMPLE = (
    'package main\nimport rego.v1\n\ndenylist := ["openjdk"]\n\ndeny contains msg if {\n\tsome i\n'
    '\tinput[i].Cmd == "from"\n\tval := input[i].Value\n\tcontains(val[i], denylist[_])\n\n'
    '\tmsg = sprintf("unallowed image found %s", [val])\n}\n'
)


def test_a_conftest_dockerfile_policy_runs_on_the_same_input(tmp_path: Path) -> None:
    # conftest's own example (examples/docker/policy/images.rego, Rego v1) reads the list of instructions; rego-cpp
    # does not take `_` inside a call's arguments, so that one line is written with `some`: the error says so
    with pytest.raises(InvalidInputError) as err:
        PolicySet.load(policy(tmp_path / "as-is", CONFTEST_EXAMPLE))
    assert "Invalid bracket argument (policy.rego:10:" in err.value.message and "some item in list" in err.value.hint
    rewritten = CONFTEST_EXAMPLE.replace(
        "\tcontains(val[i], denylist[_])", "\tsome denied in denylist\n\tcontains(val[i], denied)"
    )
    policies = PolicySet.load(policy(tmp_path / "rewritten", rewritten))
    [result] = policies.evaluate(conftest_input("FROM openjdk:8-jdk-alpine\nRUN echo hi\n"))
    assert (result.rule, result.severity, result.policy) == ("main.deny", "error", "policy.rego")
    assert result.message.startswith("unallowed image found") and "openjdk:8-jdk-alpine" in result.message
    assert policies.evaluate(conftest_input("FROM python:3.12-slim\n")) == []


def test_warn_objects_with_ids_and_prefixed_rules(tmp_path: Path) -> None:
    # Trivy/conftest style results: objects with msg and id; deny_<name> and warn rules; a message with quotes in it
    # (regopy's JSON text leaves them unescaped: the engine reads its node tree)
    folder = policy(
        tmp_path,
        'package checks\nimport rego.v1\n\nwarn contains {"msg": "no \\"USER\\" line", "id": "CK-USER"} if {\n'
        '\tnot "user" in {c.Cmd | some c in input}\n}\n\ndeny_root contains "runs as root" if {\n'
        '\tsome c in input\n\tc.Cmd == "user"\n\tc.Value[0] == "root"\n}\n',
    )
    policies = PolicySet.load(folder)
    [warned] = policies.evaluate(conftest_input("FROM python:3.12-slim\n"))
    assert (warned.rule, warned.severity, warned.message) == ("CK-USER", "warning", 'no "USER" line')
    assert messages(policies, conftest_input("FROM python:3.12-slim\nUSER root\n")) == [("error", "runs as root")]


def test_rego_v0_rule_heads_are_refused_with_the_rewrite(tmp_path: Path) -> None:
    # conftest's older examples: `deny[msg] {` — Rego v1 would read it as an object rule and report nothing
    folder = policy(tmp_path, 'package main\n\ndeny[msg] {\n  input[i].Cmd == "from"\n  msg = "x"\n}\n', "old.rego")
    with pytest.raises(InvalidInputError) as err:
        PolicySet.load(folder)
    assert "old.rego, line 3" in err.value.message and "Rego v0" in err.value.message
    assert "deny contains msg if {" in err.value.hint


def test_a_policy_that_does_not_compile_is_an_input_error_naming_it(tmp_path: Path) -> None:
    folder = policy(tmp_path, "package main\nimport rego.v1\ndeny contains msg if { msg := }\n", "broken.rego")
    with pytest.raises(ContainerKitError) as err:
        PolicySet.load(folder)
    assert err.value.code == "INVALID_INPUT"
    with pytest.raises(InvalidInputError, match=r"no \.rego policies"):
        PolicySet.load(
            policy(tmp_path / "empty", "package main\n", "x_test.rego")
        )  # a policy's own tests are not policies
    with pytest.raises(InvalidInputError, match="does not exist"):
        PolicySet.load(tmp_path / "nowhere")


# --- the example policies -----------------------------------------------------------------------------------------


def test_example_image_policy_pins_tags_and_allows_registries() -> None:
    policies = PolicySet.load(EXAMPLES)
    dockerfile = (
        "FROM python:3.12-slim AS build\nFROM build\nFROM 127.0.0.1:5001/base@sha256:" + "a" * 64 + "\n"
        "FROM quay.io/org/app\nFROM node:latest\nLABEL org.opencontainers.image.source=https://example.com/x\n"
    )
    found = messages(policies, conftest_input(dockerfile))
    assert found == [
        ("error", "image node:latest has no tag or uses latest: pin a version (or a digest)"),
        ("error", "image quay.io/org/app has no tag or uses latest: pin a version (or a digest)"),
        (
            "error",
            "image quay.io/org/app is not from an allowed registry (docker.io/library/, registry.example.com/, "
            "127.0.0.1:5001/)",
        ),
    ]
    bad = json.loads(json.dumps(DEPLOYMENT))
    bad["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/org/web"
    assert [m for _, m in messages(policies, bad)] == [
        "image ghcr.io/org/web has no tag or uses latest: pin a version (or a digest)",
        "image ghcr.io/org/web is not from an allowed registry (docker.io/library/, registry.example.com/, "
        "127.0.0.1:5001/)",
    ]
    assert messages(policies, DEPLOYMENT) == []


def test_example_label_policy() -> None:
    policies = PolicySet.load(EXAMPLES)
    assert messages(policies, conftest_input("FROM python:3.12-slim\n")) == [
        ("error", "the Dockerfile has no LABEL org.opencontainers.image.source")
    ]
    unlabelled = {**DEPLOYMENT, "metadata": {"name": "web"}}
    assert messages(policies, unlabelled) == [("error", "Deployment/web has no app.kubernetes.io/name label")]


def test_example_vulnerability_policy_on_the_age_of_fixable_critical_findings() -> None:
    policies = PolicySet.load(EXAMPLES)

    def finding(**kw: Any) -> dict[str, Any]:
        return {
            "id": "GHSA-x",
            "package": "p",
            "installed_version": "1.0",
            "severity": "critical",
            "fixed_versions": ["1.1"],
            "ignored": None,
            "published": "2024-01-01T00:00:00Z",
            **kw,
        }

    report = {
        "image": "app:1",
        "findings": [
            finding(),
            finding(id="GHSA-new", published="2999-01-01T00:00:00Z"),
            finding(id="GHSA-nofix", fixed_versions=[]),
            finding(id="GHSA-high", severity="high"),
            finding(id="GHSA-ign", ignored="accepted until March"),
            finding(id="GHSA-undated", published=None),
        ],
        "db": {"age_days": 1.5},
    }
    [(severity, message)] = messages(policies, report)
    assert severity == "error" and message.startswith("GHSA-x in p 1.0 is critical, fixed in 1.1, and was published ")
    assert messages(policies, {**report, "findings": [], "db": {"age_days": 12.4}}) == [
        ("warning", "the vulnerability database is 12 days old")
    ]


# --- through the tools, the CLI and MCP ---------------------------------------------------------------------------


def test_lint_with_policies_through_the_registry_and_the_settings(harness: Harness, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text('FROM node:latest\nUSER node\nCMD ["node", "x.js"]\n')
    result = harness.call("validate_dockerfile", path=str(tmp_path), policy=str(EXAMPLES))
    mine = [f for f in result.findings if f.source == "policy"]
    assert {(f.rule, f.severity) for f in mine} == {("images.deny", "error"), ("labels.deny", "error")}
    assert not result.valid and all(f.fix.startswith("Required by the policy ") for f in mine)
    plain = harness.call("validate_dockerfile", path=str(tmp_path))
    assert not [f for f in plain.findings if f.source == "policy"]


def test_lint_and_manifest_validation_with_policies_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text('FROM node:latest\nUSER node\nCMD ["node", "x.js"]\n')
    (tmp_path / "deploy.yaml").write_text(json.dumps({**DEPLOYMENT, "metadata": {"name": "web"}}))
    env = {
        "CONTAINERKIT_HOME": str(tmp_path / "home"),
        "CONTAINERKIT_CONFIG": str(tmp_path / "none.yaml"),
        "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path), str(ROOT)]),
    }

    def ck(*args: str) -> subprocess.CompletedProcess[str]:
        import os

        return subprocess.run(
            [sys.executable, "-m", "containerkit", *args],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            cwd=ROOT,
            timeout=120,
        )

    lint = ck("lint", str(tmp_path), "--policy", str(EXAMPLES), "--json")
    assert lint.returncode == 1, lint.stderr
    rules = {f["rule"] for f in json.loads(lint.stdout)["findings"] if f["source"] == "policy"}
    assert rules == {"images.deny", "labels.deny"}
    validated = ck("manifests", "validate", str(tmp_path / "deploy.yaml"), "--policy", str(EXAMPLES), "--json")
    assert validated.returncode != 0
    error = json.loads(validated.stdout)["error"]
    assert error["code"] == "MANIFEST_INVALID"
    assert any(
        f["rule"] == "labels.deny" and "app.kubernetes.io/name" in f["message"] for f in error["details"]["findings"]
    )
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "old.rego").write_text('package main\ndeny[msg] {\n  msg := "x"\n}\n')
    refused = ck("lint", str(tmp_path), "--policy", str(broken), "--json")
    assert refused.returncode == 2 and json.loads(refused.stdout)["error"]["code"] == "INVALID_INPUT"
    assert "Traceback" not in refused.stderr


def test_manifest_validation_with_policies_through_mcp(harness: Harness, tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text(json.dumps({**DEPLOYMENT, "metadata": {"name": "web"}}))

    async def body(client: Any) -> Any:
        return (
            await client.call_tool(
                "validate_manifests", {"path": str(tmp_path / "deploy.yaml"), "policy": str(EXAMPLES)}
            ),
            await client.call_tool(
                "validate_dockerfile", {"path": str(tmp_path / "deploy.yaml"), "policy": str(tmp_path)}
            ),
        )

    denied, missing = run_client(harness, body)
    assert denied.is_error
    text = " ".join(c.text for c in denied.content if hasattr(c, "text"))
    assert "MANIFEST_INVALID" in text and "labels.deny" in text
    assert missing.is_error
