"""The one finding model of every policy gate: the Dockerfile lint, manifest validation and the user's Rego policies on
a scan (issue 17; there were three classes, each with its own fields for the same thing). Top level, like
``containerkit.imageref``, so every package may use it; SARIF, the CLI and MCP results read the same fields.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["error", "warning", "info", "style"]
Source = Literal["hadolint", "containerkit", "policy"]


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str = Field(
        description="hadolint's DLxxxx/SCxxxx, Container Kit's CKxxx, or a Rego policy's package.rule (or the id it "
        "returned)."
    )
    severity: Severity = Field(description="error fails the gate; warning, info and style do not.")
    message: str
    fix: str = Field("", description="What to change, when the rule knows.")
    source: Source = Field(
        "containerkit", description="hadolint, Container Kit's own rules, or the user's Rego policies."
    )
    file: str | None = Field(
        None, description="File (or rendered source, e.g. 'overlays/prod (kustomize)') the finding is about."
    )
    line: int | None = Field(None, description="1-based line, when known.")
    kind: str | None = Field(None, description="The Kubernetes object's kind (manifest findings).")
    name: str | None = Field(None, description="The Kubernetes object's name (manifest findings).")
    policy: str | None = Field(None, description="The .rego file, relative to the policy directory (policy findings).")
