# Images: a pinned tag (never latest or none), and only from the registries you allow.
# Inputs: a Dockerfile (its FROM lines) and Kubernetes objects (their containers' images).
#   containerkit lint --policy examples/policies
#   containerkit manifests validate deploy/ --policy examples/policies
package images

import rego.v1

# Edit to your registries. Bare official images (python:3.12-slim) are docker.io/library/…
allowed_registries := ["docker.io/library/", "registry.example.com/", "127.0.0.1:5001/"]

deny contains msg if {
	some image in images
	not pinned(image)
	msg := sprintf("image %s has no tag or uses latest: pin a version (or a digest)", [image])
}

deny contains msg if {
	some image in images
	not allowed(full_name(image))
	msg := concat("", ["image ", image, " is not from an allowed registry (", concat(", ", allowed_registries), ")"])
}

images := dockerfile_images | manifest_images

# FROM <image> [AS <name>]; a later FROM naming an earlier stage is not an image
stages contains lower(cmd.Value[2]) if {
	some cmd in input
	cmd.Cmd == "from"
	count(cmd.Value) >= 3
	lower(cmd.Value[1]) == "as"
}

dockerfile_images contains image if {
	some cmd in input
	cmd.Cmd == "from"
	image := cmd.Value[0]
	not lower(image) in stages
	image != "scratch"
	not contains(image, "$")
}

manifest_images contains c.image if some c in input.spec.template.spec.containers

manifest_images contains c.image if some c in input.spec.template.spec.initContainers

manifest_images contains c.image if some c in input.spec.jobTemplate.spec.template.spec.containers

manifest_images contains c.image if some c in input.spec.containers

pinned(image) if contains(image, "@sha256:")

pinned(image) if {
	regex.match(`:[^/:]+$`, image)
	not endswith(image, ":latest")
}

registry_host(first) if regex.match(`[.:]|^localhost$`, first)

full_name(image) := image if {
	parts := split(image, "/")
	count(parts) > 1
	registry_host(parts[0])
}

full_name(image) := concat("", ["docker.io/library/", image]) if not contains(image, "/")

full_name(image) := concat("", ["docker.io/", image]) if {
	parts := split(image, "/")
	count(parts) > 1
	not registry_host(parts[0])
}

allowed(name) if {
	some prefix in allowed_registries
	startswith(name, prefix)
}
