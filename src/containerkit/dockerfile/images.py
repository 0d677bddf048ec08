"""Base image choice: official slim images with explicit tags from the detected version; configurable map and mirror
prefix."""

from __future__ import annotations

from collections.abc import Mapping

from containerkit.dockerfile import tags

#: the version used when the app names none: a maintained release of the tag snapshot (a test keeps them maintained);
#: Node.js takes the newest LTS line, not the newest release
DEFAULT_VERSIONS = {
    "python": "3.12",
    "node": "22",
    "go": "1.26",
    "java": "21",
    "dotnet": "8.0",
    "ruby": "3.3",
    "php": "8.4",
    "rust": "1.98",
}
# key -> image template; {version} is the language version. Keys are overridable in settings.dockerfile.base_images.
DEFAULT_IMAGES = {
    "python": "python:{version}-slim",
    "node": "node:{version}-slim",
    "go-build": "golang:{version}-bookworm",
    "go-runtime": "debian:bookworm-slim",
    "java-build-maven": "maven:3.9-eclipse-temurin-{version}",
    "java-build-gradle": "gradle:8.14-jdk{version}",
    "java-build-gradle-wrapper": "eclipse-temurin:{version}-jdk",
    "java-runtime": "eclipse-temurin:{version}-jre",
    "dotnet-build": "mcr.microsoft.com/dotnet/sdk:{version}",
    "dotnet-runtime": "mcr.microsoft.com/dotnet/aspnet:{version}",
    "ruby": "ruby:{version}-slim",
    "php": "php:{version}-apache",
    "composer": "composer:2.10",
    "rust-build": "rust:{version}-slim-bookworm",
    "rust-runtime": "debian:bookworm-slim",
    "static": "nginx:stable",
}


class ImagePicker:
    """Fills the image templates, checked against the tag snapshot: a lower bound (``minimum``) becomes the newest
    maintained release at or above it; an exact version is kept, with a note when it is no longer maintained; a tag that
    was never published (``golang:1.18-bookworm``) becomes the newest maintained release, with a note. Templates
    overridden in settings, and images of registries the snapshot does not cover, are used as given."""

    def __init__(
        self,
        overrides: Mapping[str, str] | None = None,
        registry_prefix: str | None = None,
        *,
        minimum: bool = False,
        maximum: str | None = None,
    ) -> None:
        """``minimum``: the version is a lower bound (the newest maintained release at or above it is used);
        ``maximum``: no release newer than this one (the app's locked binary packages have no wheels for newer)."""
        self.minimum = minimum
        self.maximum = maximum
        self.images = {**DEFAULT_IMAGES, **(overrides or {})}
        self.overridden = set(overrides or {})
        self.prefix = registry_prefix.rstrip("/") if registry_prefix else None
        self.notes: list[str] = []

    def for_service(self, minimum: bool, maximum: str | None = None) -> ImagePicker:
        """A picker for one service (its own notes; ``minimum`` when its version is a lower bound, ``maximum`` when the
        app cannot run on newer releases)."""
        picker = ImagePicker(registry_prefix=self.prefix, minimum=minimum, maximum=maximum)
        picker.images, picker.overridden = dict(self.images), set(self.overridden)
        return picker

    def pick(self, key: str, version: str | None, language: str) -> str:
        template = self.images[key]
        given = version
        version = version or DEFAULT_VERSIONS.get(language, "latest")
        if self.maximum and "{version}" in template and tags.version_key(version) > tags.version_key(self.maximum):
            self.notes.append(
                f"{language} {self.maximum} is the newest release the app's locked binary packages have "
                f"wheels for; using it rather than {version}"
            )
            version = given = self.maximum
        image = template.format(version=version)
        if key not in self.overridden and "{version}" in template and given:
            image = self._existing(template, image, version)
        if self.prefix and not _has_registry(image):
            image = f"{self.prefix}/{image}"
        return image

    def _existing(self, template: str, image: str, version: str) -> str:
        snap = tags.snapshot()
        repository, tag = tags.split(image)
        if not snap.knows(repository):
            return image
        maintained = tags.versions_for(template)
        same_depth = [v for v in maintained if v.count(".") == version.count(".")] or maintained
        newer = [
            v
            for v in same_depth
            if tags.version_key(v) >= tags.version_key(version)
            and (not self.maximum or tags.version_key(v) <= tags.version_key(self.maximum))
        ]
        if self.minimum and newer:
            newest = template.format(version=newer[-1])
            if newest != image:
                self.notes.append(
                    f"{repository} {version} is the oldest release the app supports; using {newest}, the newest "
                    "maintained release"
                )
            return newest
        if tag in snap.current[repository]:
            return image
        if tag in snap.published[repository]:
            note = (
                f"{image}: {repository} {version} is no longer maintained upstream (not among the tags published on "
                f"{snap.date}); the app asks for it, so it is used — plan an upgrade"
            )
            if note not in self.notes:
                self.notes.append(note)
            return image
        if not same_depth:
            return image
        replacement = template.format(version=same_depth[-1])
        self.notes.append(f"{image} was never published; using {replacement}, the newest maintained release")
        return replacement


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
