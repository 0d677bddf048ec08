"""Node.js failure classes found on the real-app corpus (bench/corpus/apps.json), each distilled into a small tree.

Every case names the corpus app it came from; each failed on the analysis or generator before the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerkit.analysis.models import ServiceAnalysis
from containerkit.dockerfile.render import render
from tests.analysis.test_real_app_classes import dockerfile, one, tree


def pkg(**fields: object) -> str:
    return json.dumps({"name": "app", "version": "1.0.0", **fields})


def lock(**packages: dict[str, object]) -> str:
    return json.dumps({"lockfileVersion": 3, "packages": {"": {"name": "app"}, **packages}})


def stages(text: str) -> list[str]:
    """The Dockerfile split at its FROM lines."""
    parts = text.split("\nFROM ")
    return [parts[0], *("FROM " + p for p in parts[1:])]


def test_start_follows_npm_run_to_the_node_command(tmp_path: Path) -> None:
    # node-uptime-kuma: "start": "npm run start-server", "start-server": "node server/server.js"
    svc = one(
        tree(
            tmp_path,
            {
                "package.json": pkg(
                    scripts={"start": "npm run start-server", "start-server": "node server/server.js"},
                    dependencies={"express": "^4"},
                ),
                "server/server.js": "require('express')().listen(3001)\n",
            },
        )
    )
    assert svc.start_command == ["node", "server/server.js"]
    assert 'CMD ["node", "server/server.js"]' in dockerfile(svc)


def test_start_that_builds_first_runs_the_built_server(tmp_path: Path) -> None:
    # node-fastify-demo: "start": "npm run build && node dist/server.js"
    svc = one(
        tree(
            tmp_path,
            {
                "package.json": pkg(
                    scripts={"start": "npm run build && node dist/server.js", "build": "tsc"},
                    dependencies={"fastify": "^5"},
                    devDependencies={"typescript": "^5"},
                ),
                "src/server.ts": "import Fastify from 'fastify'\nFastify().listen({ port: 3000 })\n",
            },
        )
    )
    assert svc.start_command == ["node", "dist/server.js"]
    build, runtime = stages(dockerfile(svc))[1:]
    assert "RUN npm run build && npm prune --omit=dev" in build
    # the whole pruned app: views, public and config files the server reads beside its build output
    assert "COPY --from=build /app /app" in runtime


def test_npmrc_is_copied_before_the_install(tmp_path: Path) -> None:
    # node-uptime-kuma: .npmrc sets legacy-peer-deps=true; `npm ci` without it fails with ERESOLVE
    svc = one(
        tree(
            tmp_path,
            {
                "package.json": pkg(scripts={"start": "node index.js"}, dependencies={"express": "^4"}),
                "package-lock.json": lock(),
                ".npmrc": "legacy-peer-deps=true\n",
                "index.js": "",
            },
        )
    )
    assert svc.install_files == [".npmrc"]
    text = dockerfile(svc)
    assert text.index("COPY package.json package-lock.json .npmrc ./") < text.index("RUN npm ci --omit=dev")
    # the generated .dockerignore keeps secrets out, but lets this settings-only .npmrc in
    assert render(svc).dockerignore.rstrip().endswith("!.npmrc")


def test_an_npmrc_with_a_registry_token_stays_out_of_the_image(tmp_path: Path) -> None:
    svc = one(
        tree(
            tmp_path,
            {
                "package.json": pkg(scripts={"start": "node index.js"}, dependencies={"express": "^4"}),
                "package-lock.json": lock(),
                ".npmrc": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
                "index.js": "",
            },
        )
    )
    assert svc.install_files == []
    assert ".npmrc" not in dockerfile(svc) and "!.npmrc" not in render(svc).dockerignore


def test_native_modules_get_compilers_in_the_build_stage_only(tmp_path: Path) -> None:
    # node-uptime-kuma: @louislam/sqlite3 has an install script (hasInstallScript in package-lock.json)
    svc = one(
        tree(
            tmp_path,
            {
                "package.json": pkg(
                    scripts={"start": "node index.js"}, dependencies={"express": "^4", "@louislam/sqlite3": "^15"}
                ),
                "package-lock.json": lock(
                    **{
                        "node_modules/@louislam/sqlite3": {"version": "15.1.6", "hasInstallScript": True},
                        "node_modules/core-js": {"version": "3", "hasInstallScript": True},
                    }
                ),
                "index.js": "",
            },
        )
    )
    assert svc.system_packages == ["g++", "make", "python3"]
    build, runtime = stages(dockerfile(svc))[1:]
    assert "g++ make python3" in build and "RUN npm ci --omit=dev" in build
    assert "g++" not in runtime and "COPY --from=build /app /app" in runtime


def test_install_scripts_that_read_the_source_get_it_first(tmp_path: Path) -> None:
    # node-hackathon-starter: "postinstall": "patch-package && npm run scss" needs patches/ and public/css
    svc = one(
        tree(
            tmp_path,
            {
                "package.json": pkg(
                    scripts={"postinstall": "patch-package && npm run scss", "start": "npm run scss && node app.js"},
                    dependencies={"express": "^5", "patch-package": "^8"},
                ),
                "package-lock.json": lock(),
                "patches/x+1.0.0.patch": "",
                "app.js": "",
            },
        )
    )
    assert svc.install_needs_source and svc.start_command == ["node", "app.js"]
    text = dockerfile(svc)
    assert text.index("COPY . .") < text.index("RUN npm ci --omit=dev")


@pytest.mark.parametrize(
    ("pin", "setup"),
    [
        ({".node-version": "24\n"}, ""),  # the official node images up to 24 ship yarn 1.22
        ({}, "npm install -g --no-audit --no-fund yarn@1.22.22 && "),  # engines >=22: Node 26, whose image has none
    ],
)
def test_yarn_classic_uses_the_image_yarn_and_never_corepack(tmp_path: Path, pin: dict[str, str], setup: str) -> None:
    # node-thelounge: yarn.lock v1, .node-version 24, "start": "node index start", defaults/config.js `port: 9000,`
    svc = one(
        tree(
            tmp_path,
            {
                **pin,
                "package.json": pkg(
                    scripts={"start": "node index start", "build": "run-p build:client build:server"},
                    dependencies={"express": "^5"},
                    engines={"node": ">=22.0.0"},
                ),
                "yarn.lock": "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n",
                "index.js": "",
                "defaults/config.js": "module.exports = {\n\tpublic: false,\n\thost: undefined,\n\tport: 9000,\n};\n",
            },
        )
    )
    assert (svc.package_manager, svc.package_manager_version, svc.port) == ("yarn", "1", 9000)
    assert svc.start_command == ["node", "index", "start"]
    text = dockerfile(svc)
    assert f"RUN {setup}yarn install --frozen-lockfile" in text and "corepack" not in text
    assert "yarn install --production --frozen-lockfile --ignore-scripts --prefer-offline" in text


def test_yarn_berry_runs_its_committed_release(tmp_path: Path) -> None:
    svc = one(
        tree(
            tmp_path,
            {
                "package.json": pkg(
                    scripts={"start": "node server.js", "build": "yarn tsc"},
                    dependencies={"express": "^4"},
                    packageManager="yarn@4.5.3",
                ),
                "yarn.lock": "__metadata:\n  version: 8\n",
                ".yarnrc.yml": "nodeLinker: node-modules\nyarnPath: .yarn/releases/yarn-4.5.3.cjs\n",
                ".yarn/releases/yarn-4.5.3.cjs": "",
                "server.js": "",
            },
        )
    )
    assert svc.package_manager_version == "4.5.3"
    assert svc.install_files == [".yarnrc.yml", ".yarn/releases/yarn-4.5.3.cjs"]
    text = dockerfile(svc)
    assert "COPY .yarn/releases/yarn-4.5.3.cjs ./.yarn/releases/yarn-4.5.3.cjs" in text
    assert "RUN node .yarn/releases/yarn-4.5.3.cjs install --immutable" in text
    assert (
        "node .yarn/releases/yarn-4.5.3.cjs run build && node .yarn/releases/yarn-4.5.3.cjs workspaces focus --all "
        "--production"
    ) in text


def test_pnpm_release_follows_its_lockfile(tmp_path: Path) -> None:
    svc = one(
        tree(
            tmp_path,
            {
                "package.json": pkg(scripts={"start": "node server.js"}, dependencies={"fastify": "^5"}),
                "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
                "server.js": "",
            },
        )
    )
    assert (svc.package_manager, svc.package_manager_version) == ("pnpm", "9")
    assert "RUN npm install -g --no-audit --no-fund pnpm@9 && pnpm install --frozen-lockfile --prod" in dockerfile(svc)


def test_node_runs_under_tini(tmp_path: Path) -> None:
    # node-socketio-chat: `node index.js` as PID 1 ignored SIGTERM; docker stop took 10 s
    svc = one(
        tree(
            tmp_path,
            {
                "package.json": pkg(scripts={"start": "node index.js"}, dependencies={"express": "^4"}),
                "index.js": "require('express')().listen(process.env.PORT || 3000)\n",
            },
        )
    )
    runtime = stages(dockerfile(svc))[-1]
    assert "apt-get install -y --no-install-recommends tini" in runtime
    assert runtime.index('ENTRYPOINT ["/usr/bin/tini", "--"]') < runtime.index('CMD ["node", "index.js"]')


@pytest.mark.parametrize(
    ("files", "framework", "out"),
    [
        # static-svelte-template: rollup writes public/build/bundle.js beside public/index.html
        (
            {
                "package.json": pkg(
                    scripts={"build": "rollup -c", "start": "sirv public --no-clear"}, devDependencies={"svelte": "^3"}
                ),
                "rollup.config.js": "export default { output: { file: 'public/build/bundle.js' } }\n",
            },
            "svelte",
            "public",
        ),
        # static-vite-vanilla: vite with no config and no UI framework
        (
            {"package.json": pkg(scripts={"build": "vite build"}, devDependencies={"vite": "^7"}), "index.html": ""},
            "vite",
            "dist",
        ),
        # static-gatsby-blog: gatsby build writes public/
        (
            {
                "package.json": pkg(
                    scripts={"build": "gatsby build", "start": "gatsby develop"},
                    dependencies={"gatsby": "^5", "react": "^18"},
                )
            },
            "gatsby",
            "public",
        ),
        (
            {
                "package.json": pkg(
                    scripts={"build": "vite build"}, dependencies={"react": "^19"}, devDependencies={"vite": "^7"}
                ),
                "vite.config.js": "export default { build: { outDir: './site' } }\n",
            },
            "react",
            "site",
        ),
    ],
)
def test_site_build_output_is_where_the_tool_writes_it(
    tmp_path: Path, files: dict[str, str], framework: str, out: str
) -> None:
    svc = one(tree(tmp_path, files))
    assert (svc.framework, svc.build_output, svc.port) == (framework, out, 8080)
    assert f"COPY --from=build /app/{out}/ /usr/share/nginx/html/" in dockerfile(svc)


def test_angular_application_builder_writes_browser_and_the_old_builder_does_not(tmp_path: Path) -> None:
    def angular(root: Path, builder: str) -> ServiceAnalysis:
        config = {
            "projects": {"web": {"architect": {"build": {"builder": builder, "options": {"outputPath": "dist/web"}}}}}
        }
        return one(
            tree(
                root,
                {
                    "package.json": pkg(scripts={"build": "ng build"}, dependencies={"@angular/core": "^16"}),
                    "angular.json": json.dumps(config),
                },
            )
        )

    assert angular(tmp_path / "new", "@angular-devkit/build-angular:application").build_output == "dist/web/browser"
    assert angular(tmp_path / "old", "@angular-devkit/build-angular:browser").build_output == "dist/web"


@pytest.mark.parametrize("public", [True, False])
def test_nextjs_standalone_runs_its_server_with_an_optional_public_dir(tmp_path: Path, public: bool) -> None:
    files = {
        "package.json": pkg(
            scripts={"build": "next build", "start": "next start"}, dependencies={"next": "15", "react": "19"}
        ),
        "package-lock.json": lock(),
        "next.config.mjs": "export default { output: 'standalone' };\n",
        "app/page.tsx": "",
    }
    if public:
        files["public/favicon.ico"] = ""
    svc = one(tree(tmp_path, files))
    assert (svc.build_output, svc.start_command, svc.runtime_files) == (
        ".next/standalone",
        ["node", "server.js"],
        ["public"] if public else [],
    )
    runtime = stages(dockerfile(svc))[-1]
    assert (
        "COPY --from=build /app/.next/standalone ./" in runtime
        and "COPY --from=build /app/.next/static ./.next/static" in runtime
    )
    assert ("COPY --from=build /app/public ./public" in runtime) is public
    assert "ENV HOSTNAME=0.0.0.0" in runtime and 'CMD ["node", "server.js"]' in runtime


@pytest.mark.parametrize(
    ("source", "made"),
    [
        # node-uptime-kuma: server/database.js sets Database.dataDir = process.env.DATA_DIR || … || "./data/" and
        # fs.mkdirSync(Database.dataDir): as uid 10001 under a root-owned /app (and a read-only root) it died with
        # ENOENT
        (
            'Database.dataDir = process.env.DATA_DIR || args["data-dir"] || "./data/";\n'
            "if (!fs.existsSync(Database.dataDir)) {\n    fs.mkdirSync(Database.dataDir, { recursive: true });\n}\n",
            ["data"],
        ),
        ("fs.mkdirSync('uploads', { recursive: true })\n", ["uploads"]),
        ("await fs.promises.mkdir('./cache/', { recursive: true })\n", ["cache"]),
        # a *Dir default that nothing in its file creates is not a directory the app makes
        ('const staticDir = "./public/";\napp.use(express.static(staticDir));\n', []),
    ],
)
def test_directories_the_app_makes_at_run_time_are_the_app_users(tmp_path: Path, source: str, made: list[str]) -> None:
    svc = one(
        tree(
            tmp_path,
            {
                "package.json": pkg(scripts={"start": "node server.js"}, dependencies={"express": "^4"}),
                "server.js": "const fs = require('fs');\nconst express = require('express');\nconst app = express();\n"
                + source
                + "app.listen(3001)\n",
            },
        )
    )
    assert svc.writes == made
    text = dockerfile(svc)
    if made:
        assert f"RUN mkdir -p {made[0]} && chown 10001:10001 {made[0]}" in text
        assert f'LABEL org.containerkit.writable="/tmp /app/{made[0]}"' in text
        # made the app user's after the source is copied in, before USER
        assert text.index("COPY . .") < text.index(f"RUN mkdir -p {made[0]}") < text.index("USER 10001")
    else:
        assert "RUN mkdir -p" not in text
