"""Backing services for the corpus apps that need one (apps.json `needs`): PostgreSQL, MariaDB (for `mysql`) and Redis
from Debian's packages, FerretDB (for `mongodb`) from its Go module, each in a container on the engine's default
bridge, where the smoke run's container reaches it by address. Docker Hub's images are not reachable here, so each
image is built once from the Debian stand-in (FerretDB's from the Go stand-in).

An app's `env` in apps.json names a service's address with `{postgres}` (host:port), `{postgres_host}` and
`{postgres_port}` (likewise for `mysql` and `redis`); the user, password and database are `app` in each.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

BASE = "debian:bookworm-slim"

# name -> (port, Dockerfile body after FROM, readiness command run inside the container)
SERVICES: dict[str, tuple[int, str, list[str]]] = {
    "postgres": (
        5432,
        """
RUN apt-get update && apt-get install -y --no-install-recommends postgresql && rm -rf /var/lib/apt/lists/*
USER postgres
RUN /usr/lib/postgresql/15/bin/initdb -D /var/lib/postgresql/data -U postgres --auth-local=trust --auth-host=md5 && \\
    echo "host all all 0.0.0.0/0 md5" >> /var/lib/postgresql/data/pg_hba.conf && \\
    /usr/lib/postgresql/15/bin/pg_ctl -D /var/lib/postgresql/data -w start && \\
    psql -c "CREATE ROLE app LOGIN PASSWORD 'app'" && psql -c "CREATE DATABASE app OWNER app" && \\
    /usr/lib/postgresql/15/bin/pg_ctl -D /var/lib/postgresql/data -w stop
CMD ["/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/data", "-c", "listen_addresses=*"]
""",
        ["pg_isready", "-h", "127.0.0.1"],
    ),
    "mysql": (
        3306,
        """
RUN apt-get update && apt-get install -y --no-install-recommends mariadb-server && rm -rf /var/lib/apt/lists/* && \\
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld && \\
    (mysqld --user=mysql --skip-networking & pid=$!; \\
     until mysqladmin ping --silent; do sleep 0.5; done; \\
     mysql -e "CREATE DATABASE app; CREATE USER 'app'@'%' IDENTIFIED BY 'app'; GRANT ALL ON app.* TO 'app'@'%'"; \\
     mysqladmin shutdown; wait $pid)
CMD ["mysqld", "--user=mysql", "--bind-address=0.0.0.0"]
""",
        ["mysqladmin", "ping", "--silent"],
    ),
    # MongoDB is not in Debian 12: FerretDB (MongoDB's wire protocol over SQLite), built from its Go module (its
    # module leaves build/version/version.txt empty, which it refuses to start with)
    "mongodb": (
        27017,
        """FROM golang:1.26-bookworm AS build
RUN dir=$(go mod download -json github.com/FerretDB/FerretDB@v1.24.2 | sed -n 's/^\\t"Dir": "\\(.*\\)",$/\\1/p') && \\
    cp -r "$dir" /src && chmod -R u+w /src && echo v1.24.2 > /src/build/version/version.txt && \\
    cd /src && CGO_ENABLED=0 go build -o /ferretdb ./cmd/ferretdb
FROM debian:bookworm-slim
COPY --from=build /ferretdb /usr/local/bin/ferretdb
RUN mkdir /data && chown nobody /data
USER nobody
ENV FERRETDB_HANDLER=sqlite FERRETDB_SQLITE_URL=file:/data/ FERRETDB_STATE_DIR=/data FERRETDB_TELEMETRY=disable
CMD ["ferretdb", "--listen-addr=0.0.0.0:27017"]
""",
        ["bash", "-c", "echo > /dev/tcp/127.0.0.1/27017"],
    ),
    "redis": (
        6379,
        """
RUN apt-get update && apt-get install -y --no-install-recommends redis-server && rm -rf /var/lib/apt/lists/*
USER redis
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", ""]
""",
        ["redis-cli", "ping"],
    ),
}


def _docker(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False)


def image(name: str) -> str:
    """The service's image, built from the Debian stand-in the first time (the engine's cache keeps it)."""
    tag = f"ck-corpus-service/{name}:bench"
    if _docker("image", "inspect", tag).returncode != 0:
        body = SERVICES[name][1]
        dockerfile = body if body.startswith("FROM ") else f"FROM {BASE}\n{body}"  # a whole Dockerfile, or its body
        built = _docker("build", "-t", tag, "-", stdin=dockerfile, timeout=1800)
        if built.returncode != 0:
            raise RuntimeError(f"building the {name} service image failed: {built.stderr.strip()[-400:]}")
    return tag


@contextmanager
def running(needs: list[str]) -> Iterator[dict[str, str]]:
    """Start the services an app needs and yield the addresses its env templates name; removed on exit. A need with no
    service here is left out, so the app's run shows what it does without it."""
    started: list[str] = []
    values: dict[str, str] = {}
    try:
        for name in needs:
            if name not in SERVICES:
                continue
            port, _, ready = SERVICES[name]
            run = _docker("run", "-d", "--label", "org.containerkit.bench=corpus-service", image(name))
            if run.returncode != 0:
                raise RuntimeError(f"starting {name} failed: {run.stderr.strip()[-300:]}")
            cid = run.stdout.strip()
            started.append(cid)
            end = time.monotonic() + 60
            while _docker("exec", cid, *ready).returncode != 0:
                if time.monotonic() > end:
                    raise RuntimeError(f"{name} did not become ready within 60 s: {_docker('logs', cid).stderr[-300:]}")
                time.sleep(0.5)
            networks = json.loads(_docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", cid).stdout or "{}")
            host = next(iter(networks.values()))["IPAddress"]
            values.update({name: f"{host}:{port}", f"{name}_host": host, f"{name}_port": str(port)})
        yield values
    finally:
        for cid in started:
            _docker("rm", "-f", cid)


def render(env: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    """The app's env with the services' addresses filled in; a variable naming a service that is not running is left
    out (an empty or unresolved address would only make a different failure)."""
    out: dict[str, str] = {}
    for key, template in env.items():
        try:
            out[key] = template.format(**values)
        except KeyError:
            continue
    return out
