"""Failure classes found on the real-app corpus (bench/corpus/apps.json), each distilled into a small tree.

Every case names the corpus app it came from; each failed on the analysis or generator before the fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from containerkit.analysis import analyze
from containerkit.analysis.models import ServiceAnalysis
from containerkit.dockerfile.images import ImagePicker
from containerkit.dockerfile.render import RenderOptions, render


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def one(root: Path) -> ServiceAnalysis:
    services = analyze(root).services
    assert len(services) == 1, [s.path for s in services]
    return services[0]


def dockerfile(svc: ServiceAnalysis) -> str:
    return render(svc, RenderOptions(user_uid=10001, images=ImagePicker({}, None))).dockerfile


GO_MOD = "module example.com/{name}\n\ngo 1.24\n"


def test_go_port_from_a_flag_default_read_through_an_env_helper_moves_off_a_privileged_port(tmp_path: Path) -> None:
    # go-whoami: flag.StringVar(&port, "port", getEnv("WHOAMI_PORT_NUMBER", "80"), ...) as uid 10001 cannot bind 80
    svc = one(
        tree(
            tmp_path,
            {
                "go.mod": GO_MOD.format(name="whoami"),
                "app.go": (
                    'package main\nimport ("flag"; "net/http")\nvar port string\nfunc main() {\n'
                    '\tflag.StringVar(&port, "port", getEnv("WHOAMI_PORT_NUMBER", "80"), "give me a port number")\n'
                    '\tflag.Parse()\n\thttp.ListenAndServe(":"+port, nil)\n}\n'
                ),
            },
        )
    )
    assert svc.port == 8080
    assert svc.start_command == ["/app/server", "-port=8080"]
    assert 'CMD ["/app/server", "-port=8080"]' in dockerfile(svc)


def test_go_loopback_flag_default_is_overridden_to_listen_on_all_interfaces(tmp_path: Path) -> None:
    # go-outyet / go-helloserver: flag.String("http", "localhost:8080", ...) is unreachable from outside the container
    svc = one(
        tree(
            tmp_path,
            {
                "go.mod": GO_MOD.format(name="outyet"),
                "main.go": (
                    'package main\nimport ("flag"; "net/http")\nvar httpAddr = flag.String("http", "localhost:8080", '
                    '"Listen address")\n'
                    "func main() { flag.Parse(); http.ListenAndServe(*httpAddr, nil) }\n"
                ),
            },
        )
    )
    assert svc.port == 8080
    assert svc.start_command == ["/app/server", "-http=:8080"]


def test_go_main_package_named_like_the_module_wins_and_runtime_dirs_are_copied(tmp_path: Path) -> None:
    # go-podinfo: cmd/podcli and cmd/podinfo are both main packages; ui/ is read at run time; fs.Int("port", 9898, ...)
    main = 'package main\nimport "net/http"\nfunc main() {{ {body} }}\n'
    svc = one(
        tree(
            tmp_path,
            {
                "go.mod": GO_MOD.format(name="podinfo"),
                "cmd/podcli/main.go": main.format(body="println(1)"),
                "cmd/podinfo/main.go": 'package main\nimport ("net/http"; flag "github.com/spf13/pflag")\n'
                'func main() { fs := flag.NewFlagSet("x", 0); fs.Int("port", 9898, "HTTP port"); '
                'fs.Int("secure-port", 443, "x"); http.ListenAndServe(":9898", nil) }\n',
                "ui/vue.html": "<html></html>\n",
            },
        )
    )
    assert svc.build_command and svc.build_command[-1] == "./cmd/podinfo"
    assert svc.port == 9898
    assert svc.runtime_files == ["ui"]
    text = dockerfile(svc)
    assert "COPY --from=build /src/ui /app/ui" in text and "WORKDIR /app" in text


CARGO = '[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\ntokio = "1"\n'


def test_rust_bins_and_a_port_constant(tmp_path: Path) -> None:
    # rust-mini-redis: [[bin]] mini-redis-cli / mini-redis-server, src/lib.rs, pub const DEFAULT_PORT: u16 = 6379
    svc = one(
        tree(
            tmp_path,
            {
                "Cargo.toml": CARGO.format(name="mini-redis")
                + '\n[[bin]]\nname = "mini-redis-cli"\npath = "src/bin/cli.rs"\n\n'
                '[[bin]]\nname = "mini-redis-server"\npath = "src/bin/server.rs"\n',
                "src/lib.rs": "pub const DEFAULT_PORT: u16 = 6379;\n",
                "src/bin/cli.rs": "fn main() {}\n",
                "src/bin/server.rs": "fn main() {}\n",
            },
        )
    )
    assert svc.port == 6379
    assert svc.start_command == ["/app/mini-redis-server"]
    text = dockerfile(svc)
    # no stub main can stand in for binaries and a library: the dependency pre-build would fail
    assert 'echo "fn main() {}"' not in text
    assert "cargo build --release --bin mini-redis-server" in text


def test_rust_clap_default_port_and_config_files(tmp_path: Path) -> None:
    # rust-miniserve: #[arg(long = "port", default_value = "8080")] port: u16; rust-zero2prod: configuration/base.yaml
    svc = one(
        tree(
            tmp_path,
            {
                "Cargo.toml": CARGO.format(name="miniserve").replace('tokio = "1"', 'actix-web = "4"\nclap = "4"'),
                "src/main.rs": "fn main() {}\n#[derive(Parser)]\nstruct Args {\n    #[arg(\n        short = 'p',\n     "
                '   long = "port",\n'
                '        default_value = "8080",\n    )]\n    pub port: u16,\n}\n',
            },
        )
    )
    assert svc.port == 8080
    other = one(
        tree(
            tmp_path / "z2p",
            {
                "Cargo.toml": CARGO.format(name="zero2prod").replace('tokio = "1"', 'actix-web = "4"'),
                "src/main.rs": "fn main() {}\n",
                "src/lib.rs": "",
                "configuration/base.yaml": "application:\n  port: 8000\ndatabase:\n  host: x\n",
            },
        )
    )
    assert other.port == 8000
    assert other.runtime_files == ["configuration"]
    assert "COPY --from=build /src/configuration /app/configuration" in dockerfile(other)


def test_python_authors_gunicorn_target_and_pin_win(tmp_path: Path) -> None:
    # py-microblog: boot.sh runs `gunicorn -b :5000 microblog:app`; requirements pin gunicorn==21.2.0
    svc = one(
        tree(
            tmp_path,
            {
                "requirements.txt": "flask==3.0.0\ngunicorn==21.2.0\n",
                "microblog.py": "from app import create_app\napp = create_app()\n",
                "app/__init__.py": "from flask import Flask\n\ndef create_app():\n    return Flask(__name__)\n",
                "boot.sh": "#!/bin/bash\nflask db upgrade\nexec gunicorn -b :5000 --access-logfile - microblog:app\n",
            },
        )
    )
    assert svc.app_object == "microblog:app"
    assert svc.port == 5000
    assert svc.server_declared
    text = dockerfile(svc)
    assert "gunicorn==23" not in text  # a second pin of the app's own server makes pip refuse the install


def test_python_app_factory_in_a_package_is_imported_as_the_package(tmp_path: Path) -> None:
    # py-flaskr: flaskr/__init__.py defines create_app(); "flaskr.__init__:create_app()" does not boot
    svc = one(
        tree(
            tmp_path,
            {
                "pyproject.toml": '[project]\nname = "flaskr"\nversion = "1"\ndependencies = ["flask"]\n',
                "flaskr/__init__.py": "from flask import Flask\n\ndef create_app():\n    return Flask(__name__)\n",
            },
        )
    )
    assert svc.app_object == "flaskr:create_app()"


@pytest.mark.parametrize(
    ("source", "port", "main"),
    [
        (
            "package app;\npublic class App {\n  public static void main(String[] a) { Javalin.create().start(7070); "
            "}\n}\n",
            7070,
            "app.App",
        ),
    ],
)
def test_java_javalin_port_in_code_and_main_class_for_a_plain_jar(
    tmp_path: Path, source: str, port: int, main: str
) -> None:
    # java-javalin-html-forms: .start(7070), a plain maven jar whose dependencies are not bundled
    svc = one(
        tree(
            tmp_path,
            {
                "pom.xml": "<project><artifactId>forms</artifactId>"
                "<dependencies><dependency><groupId>io.javalin</groupId>"
                "<artifactId>javalin</artifactId></dependency></dependencies></project>\n",
                "src/main/java/app/App.java": source,
            },
        )
    )
    assert (svc.framework, svc.port, svc.entrypoint) == ("javalin", port, main)
    text = dockerfile(svc)
    assert "dependency:copy-dependencies" in text
    assert f'CMD ["java", "-cp", "/app/app.jar:/app/lib/*", "{main}"]' in text
    assert "COPY --from=build /src/target/*.jar" not in text  # several jars to one file fails the build


def test_java_grpc_server_is_not_http(tmp_path: Path) -> None:
    # java-grpc-hostname: int port = 50051; ServerBuilder: TCP checks, never HTTP probes
    svc = one(
        tree(
            tmp_path,
            {
                "pom.xml": "<project><artifactId>hostname</artifactId>"
                "<dependencies><dependency><groupId>io.grpc</groupId>"
                "<artifactId>grpc-netty-shaded</artifactId></dependency></dependencies></project>\n",
                "src/main/java/h/Server.java": "package h;\nclass Server {\n  public static void main(String[] a) {\n"
                "    int port = 50051;\n    Grpc.newServerBuilderForPort(port).build();\n  }\n}\n",
            },
        )
    )
    assert svc.port == 50051
    assert not svc.serves_http


def test_ruby_config_ru_is_served_by_rackup_on_9292_even_for_sinatra(tmp_path: Path) -> None:
    # ruby-oidc-sinatra: Gemfile has sinatra, config.ru runs the app class, Makefile: rackup -p 9292
    svc = one(
        tree(
            tmp_path,
            {
                "Gemfile": "source 'https://rubygems.org'\ngem 'puma'\ngem 'sinatra'\n",
                "config.ru": "require './app'\nrun App.new\n",
                "app.rb": "class App < Sinatra::Base; end\n",
            },
        )
    )
    assert (svc.framework, svc.port) == ("sinatra", 9292)


def test_flask_instance_folder_is_writable_by_the_app_user(tmp_path: Path) -> None:
    # py-flaskr: create_app() runs os.makedirs(app.instance_path) under /app, which is root's and read-only for uid
    # 10001
    svc = one(
        tree(tmp_path, {"requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n"})
    )
    assert "RUN mkdir -p instance && chown 10001:10001 instance" in dockerfile(svc)


def test_go_lone_main_without_go_mod_gets_a_module(tmp_path: Path) -> None:
    # the "a lone main.go without go.mod": go build in module mode needs one
    svc = one(
        tree(
            tmp_path,
            {"main.go": 'package main\nimport "net/http"\nfunc main() { http.ListenAndServe(":8080", nil) }\n'},
        )
    )
    assert (svc.language, svc.manifest, svc.port) == ("go", None, 8080)
    text = dockerfile(svc)
    assert "COPY go.mod" not in text and "go mod init" in text and "go mod tidy" in text


def test_go_cgo_dependency_builds_with_cgo(tmp_path: Path) -> None:
    # github.com/mattn/go-sqlite3 is C: with CGO_ENABLED=0 it builds and then fails at run time
    svc = one(
        tree(
            tmp_path,
            {
                "go.mod": GO_MOD.format(name="notes") + "\nrequire github.com/mattn/go-sqlite3 v1.14.22\n",
                "main.go": 'package main\nimport (_ "github.com/mattn/go-sqlite3"; "net/http")\n'
                'func main() { http.ListenAndServe(":8080", nil) }\n',
            },
        )
    )
    assert svc.build_env == {"CGO_ENABLED": "1"}
    assert "RUN CGO_ENABLED=1 go build" in dockerfile(svc)


def test_a_packages_examples_and_benchmarks_are_not_read_as_its_code(tmp_path: Path) -> None:
    """Container Kit's own repository: its root (a CLI package, no web framework) was analysed as Flask on port 8000
    because examples/hello-flask (a service of its own) and bench/ scripts import flask and read PORT."""
    root = tree(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "tool"\nversion = "1"\ndependencies = ["typer"]\n'
            '[project.scripts]\ntool = "tool.cli:run"\n',
            "src/tool/cli.py": "import typer\n\ndef run() -> None:\n    typer.echo('hi')\n",
            "examples/hello-flask/requirements.txt": "flask==3.0.0\n",
            "examples/hello-flask/app.py": "from flask import Flask\napp = Flask(__name__)\n",
            "bench/web.py": "import os\nfrom flask import Flask\napp = Flask(__name__)\n"
            'app.run(port=int(os.environ.get("PORT", "8000")))\n',
        },
    )
    svc = one(root)
    assert svc.language == "python" and svc.framework is None and svc.port is None
    assert not any("examples/" in e.file or "bench/" in e.file for e in svc.evidence)


def test_a_framework_found_only_by_an_import_says_so_where_it_was_found(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "requirements.txt": "gunicorn\n",
            "web/app.py": "from flask import Flask\napp = Flask(__name__)\n",
        },
    )
    svc = one(root)
    framework = [e for e in svc.evidence if e.field == "framework"]
    assert svc.framework == "flask" and framework[0].file == "web/app.py" and framework[0].detail == "imports flask"


def test_a_port_from_a_first_that_is_set_list_wins_over_a_test_runners_config(tmp_path: Path) -> None:
    """uptime-kuma: `[args.port, process.env.UPTIME_KUMA_PORT, process.env.PORT, 3001]` in server/config.js; the
    e2e test runner's config/playwright.config.js (`const port = 30001`) is not the app's."""
    root = tree(
        tmp_path,
        {
            "package.json": '{"name": "kuma", "main": "server/server.js", "dependencies": {"express": "4.18.2"}}',
            "config/playwright.config.js": "const port = 30001;\nmodule.exports = { webServer: { port } };\n",
            "server/config.js": "const args = {};\n"
            "const port = [args.port, process.env.UPTIME_KUMA_PORT, process.env.PORT, 3001]\n"
            "    .map(p => parseInt(p)).find(p => !isNaN(p));\nmodule.exports = { port };\n",
            "server/server.js": "const express = require('express');\nconst { port } = require('./config');\n"
            "express().listen(port);\n",
        },
    )
    svc = one(root)
    assert svc.port == 3001 and svc.reads_port_env
    assert not any("playwright" in e.file for e in svc.evidence)


CLI_PROJECT = (
    '[project]\nname = "ck-tool"\nversion = "1"\ndependencies = ["rich"]\n\n'
    '[project.scripts]\nck-tool-admin = "ck_tool.admin:main"\nck_tool = "ck_tool.cli:main"\n'
)


def test_an_installable_package_starts_as_its_own_console_script(tmp_path: Path) -> None:
    # Container Kit itself (docs/deploying.md): `python src/containerkit/cli/runner.py` cannot import its package;
    # installed, the project's script runs (the one named like the project when there are several)
    svc = one(
        tree(
            tmp_path,
            {
                "pyproject.toml": CLI_PROJECT,
                "src/ck_tool/__init__.py": "",
                "src/ck_tool/cli.py": "from ck_tool import admin\n\ndef main():\n    pass\n\n"
                "if __name__ == '__main__':\n    main()\n",
                "src/ck_tool/admin.py": "def main():\n    pass\n",
            },
        )
    )
    assert svc.start_command == ["ck_tool"] and svc.installs_project
    assert any(e.field == "start_command" and "console script ck_tool" in e.detail for e in svc.evidence)
    text = dockerfile(svc)
    assert "COPY . .\nRUN pip install --no-cache-dir --no-deps .\nUSER 10001" in text
    assert text.rstrip().endswith('CMD ["ck_tool"]')


def test_a_web_app_with_console_scripts_keeps_its_server(tmp_path: Path) -> None:
    svc = one(
        tree(
            tmp_path,
            {
                "pyproject.toml": CLI_PROJECT.replace('["rich"]', '["flask"]'),
                "app.py": "from flask import Flask\napp = Flask(__name__)\n",
            },
        )
    )
    assert svc.start_command is not None and svc.start_command[0] == "gunicorn" and not svc.installs_project
    assert "--no-deps ." not in dockerfile(svc)
