"""Offline OpenAPI schema checks with the schemas shipped by ``kubernetes-validate``.

The package's own ``validate`` stops at the first error and compares versions as strings; this module picks the
schema directory by exact ``major.minor``, reports every error of an object, and caches one validator per
(version, kind, apiVersion). Schemas are the package's ``-strict`` variants: unknown fields are errors, as they
are for ``kubectl apply`` (field validation ``Strict``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jsonschema
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

from containerkit.errors import InvalidInputError


@dataclass(frozen=True)
class SchemaError:
    path: tuple[str | int, ...]
    message: str


class NoSchemaError(Exception):
    """No schema for this kind/apiVersion (a CRD, or an API the version does not serve)."""


def supported_versions() -> list[str]:
    """major.minor versions with schemas, oldest first."""
    return sorted({kv.major_minor(v) for v in kv.all_versions()}, key=lambda v: tuple(int(p) for p in v.split(".")))


def resolve_version(version: str) -> str:
    """The schema version (e.g. '1.30.0') for '1.30', 'v1.30' or '1.30.4'.

    Raises:
        InvalidInputError: no schemas for that minor version (the supported ones are listed).
    """
    wanted = version.strip().removeprefix("v")
    match = re.match(r"^(\d+)\.(\d+)(?:\.\d+)?$", wanted)
    if match:
        minor = f"{int(match.group(1))}.{int(match.group(2))}"
        for full in kv.all_versions():
            if kv.major_minor(full) == minor:
                return str(full)
    supported = supported_versions()
    raise InvalidInputError(
        f"no Kubernetes schemas for version {version!r}",
        hint=f"Supported versions: {', '.join(supported)}.",
        details={"kubernetes_version": version, "supported": list(supported)},
    )


def _schema_file(kind: str, api_version: str) -> str:
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{group}.json"


@lru_cache(maxsize=256)
def _validator(version: str, kind: str, api_version: str) -> jsonschema.protocols.Validator:
    directory = f"kubernetes-json-schema/v{version}-local-strict"
    try:
        schema = kv.schema_contents(f"{directory}/{_schema_file(kind, api_version)}", version)
    except FileNotFoundError:
        raise NoSchemaError(f"no schema for {kind} {api_version} in Kubernetes {kv.major_minor(version)}") from None
    definitions = kv.schema_contents(f"{directory}/_definitions.json", version)
    registry: Registry[Any] = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    validator: jsonschema.protocols.Validator = jsonschema.validators.Draft202012Validator(schema, registry=registry)
    return validator


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown field(s)")
    return error.message


def check(obj: dict[str, Any], version: str) -> list[SchemaError]:
    """Schema errors of one object (``version`` from :func:`resolve_version`), deepest path first per branch.

    Raises:
        NoSchemaError: the kind/apiVersion has no schema in this version.
    """
    validator = _validator(version, str(obj["kind"]), str(obj["apiVersion"]))
    errors: list[SchemaError] = []
    for error in sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path]):
        leaf = _leaf(error)
        errors.append(SchemaError(path=tuple(leaf.absolute_path), message=_message(leaf)))
    return errors


def _leaf(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For oneOf/anyOf failures, the most specific sub-error (the one deepest in the document)."""
    if error.context:
        best = max(error.context, key=lambda e: len(e.absolute_path))
        if len(best.absolute_path) >= len(error.absolute_path):
            return _leaf(best)
    return error
