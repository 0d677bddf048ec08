"""Base image choice: official slim images with explicit tags from the detected version; configurable map and mirror prefix."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_VERSIONS = {"python": "3.12", "node": "20", "go": "1.22", "java": "21", "dotnet": "8.0", "ruby": "3.3", "php": "8.3",
                    "rust": "1.79"}
# key -> image template; {version} is the language version. Keys are overridable in settings.dockerfile.base_images.
DEFAULT_IMAGES = {
    "python": "python:{version}-slim",
    "node": "node:{version}-slim",
    "go-build": "golang:{version}-bookworm",
    "go-runtime": "debian:bookworm-slim",
    "java-build-maven": "maven:3.9-eclipse-temurin-{version}",
    "java-build-gradle": "gradle:8.7-jdk{version}",
    "java-runtime": "eclipse-temurin:{version}-jre",
    "dotnet-build": "mcr.microsoft.com/dotnet/sdk:{version}",
    "dotnet-runtime": "mcr.microsoft.com/dotnet/aspnet:{version}",
    "ruby": "ruby:{version}-slim",
    "php": "php:{version}-apache",
    "composer": "composer:2.7",
    "rust-build": "rust:{version}-slim-bookworm",
    "rust-runtime": "debian:bookworm-slim",
    "static": "nginx:stable",
}


class ImagePicker:
    def __init__(self, overrides: Mapping[str, str] | None = None, registry_prefix: str | None = None) -> None:
        self.images = {**DEFAULT_IMAGES, **(overrides or {})}
        self.prefix = registry_prefix.rstrip("/") if registry_prefix else None

    def pick(self, key: str, version: str | None, language: str) -> str:
        template = self.images[key]
        image = template.format(version=version or DEFAULT_VERSIONS.get(language, "latest"))
        if self.prefix and not _has_registry(image):
            image = f"{self.prefix}/{image}"
        return image


def _has_registry(image: str) -> bool:
    first = image.split("/", 1)[0]
    return "/" in image and ("." in first or ":" in first or first == "localhost")


def version_for(language: str, detected: str | None) -> str:
    """The tag version to use: the detected one normalised per ecosystem, else the default."""
    if not detected:
        return DEFAULT_VERSIONS.get(language, "latest")
    if language in ("node", "java"):
        return detected.split(".")[0]
    if language == "dotnet":
        return detected if "." in detected else f"{detected}.0"
    return detected
