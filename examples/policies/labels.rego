# Labels: the image says where its source is; every workload names its app.
#   containerkit lint --policy examples/policies
#   containerkit manifests validate deploy/ --policy examples/policies
package labels

import rego.v1

required_image_labels := ["org.opencontainers.image.source"]

workloads := {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}

is_dockerfile if input[0].Cmd

# LABEL key value [key value …]
dockerfile_labels contains key if {
	some cmd in input
	cmd.Cmd == "label"
	some i, key in cmd.Value
	i % 2 == 0
}

deny contains msg if {
	is_dockerfile
	some label in required_image_labels
	not label in dockerfile_labels
	msg := sprintf("the Dockerfile has no LABEL %s", [label])
}

deny contains msg if {
	input.kind in workloads
	not input.metadata.labels["app.kubernetes.io/name"]
	msg := sprintf("%s/%s has no app.kubernetes.io/name label", [input.kind, input.metadata.name])
}
