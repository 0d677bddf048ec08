""".NET services: SDK-style projects; ASP.NET Core."""

from __future__ import annotations

import json
import re

from containerkit.analysis.detectors import ServiceDir
from containerkit.analysis.evidence import HEALTH_ROUTE, Collector, rel_in, search, split_env
from containerkit.analysis.models import EnvVars, ServiceAnalysis
from containerkit.analysis.walk import Tree

ENV_READ = re.compile(r"""GetEnvironmentVariable\(\s*"([A-Z_][A-Z0-9_]*)"|Configuration\[\s*"([A-Za-z_:]+)"\]""")


def _deployable(project_text: str) -> bool:
    """A web app, a worker or a console program: not a class library (no OutputType Exe), not a Blazor WebAssembly
    client (its server hosts it), not an Aspire AppHost (it orchestrates the others on a developer's machine)."""
    if "Aspire.AppHost.Sdk" in project_text or re.search(r"<IsAspireHost>\s*true", project_text, re.I):
        return False
    if "Microsoft.NET.Sdk.Web" in project_text or "Microsoft.NET.Sdk.Worker" in project_text:
        return True
    return bool(re.search(r"<OutputType>\s*(Win)?Exe\s*</OutputType>", project_text, re.I))


def detect(tree: Tree, svc: ServiceDir) -> ServiceAnalysis | None:
    projects = [
        f
        for f in svc.files
        if f.endswith((".csproj", ".fsproj")) and f.count("/") <= svc.path.count("/") + 2 + bool(svc.path)
    ]
    if not projects:
        return None
    col = Collector()
    project = sorted(projects, key=lambda f: ("Sdk.Web" not in tree.read(f), "/test" in f.lower(), f.count("/"), f))[0]
    text = tree.read(project)
    if not _deployable(text):
        return None
    web = "Microsoft.NET.Sdk.Web" in text
    if web:
        col.add("framework", project, "Sdk=Microsoft.NET.Sdk.Web")
    tfm = re.search(r"<TargetFramework>net(\d+\.\d+)", text)
    if tfm:
        col.add("language_version", project, tfm.group(0))
    assembly = re.search(r"<AssemblyName>([^<]+)", text)
    name = assembly.group(1) if assembly else project.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    port = None
    reads_env = False
    # Properties/launchSettings.json is for `dotnet run` on a developer's machine; a published app in a container
    # listens where ASPNETCORE_HTTP_PORTS / ASPNETCORE_URLS say, so its ports are not the container's
    sources = [f for f in svc.files if f.endswith(".cs") and "/test" not in f.lower()]
    urls = search(
        tree,
        sources
        + [f for f in svc.files if f.endswith((".json", "Dockerfile")) and not f.endswith("launchSettings.json")],
        re.compile(r"(?:ASPNETCORE_URLS|ASPNETCORE_HTTP_PORTS|UseUrls)[^0-9]{0,40}?(?::|=)(\d{2,5})"),
    )
    if urls:
        port = int(urls[0].value)
        col.add("port", urls[0].file, urls[0].text, urls[0].line)
    if port is None and web:
        port = 8080
        col.add("port", project, "ASP.NET Core container default port 8080 (.NET 8+)")
    env_port = search(tree, sources, re.compile(r"""GetEnvironmentVariable\(\s*"(PORT)"\)"""))
    if env_port:
        reads_env = True
        col.add("reads_port_env", env_port[0].file, env_port[0].text, env_port[0].line)
    routes = search(tree, sources, HEALTH_ROUTE)
    health = routes[0].value if routes else None
    if routes:
        col.add("health_path", routes[0].file, routes[0].text, routes[0].line)
    env = {f.value for f in search(tree, sources, ENV_READ) if f.value}
    config, secret = split_env(env)
    for rel in [f for f in svc.files if f.endswith("appsettings.json")]:
        try:
            keys = json.loads(tree.read(rel))
        except json.JSONDecodeError:
            continue
        if isinstance(keys.get("ConnectionStrings"), dict):
            secret = sorted({*secret, *(f"ConnectionStrings__{k}" for k in keys["ConnectionStrings"])})
    clean = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "app"
    return ServiceAnalysis(
        path=svc.path or ".",
        name=clean,
        language="dotnet",
        language_version=tfm.group(1) if tfm else None,
        framework="aspnetcore" if web else None,
        package_manager="nuget",
        lockfile="packages.lock.json" if svc.has(tree, "packages.lock.json") else None,
        manifest=rel_in(svc.path, project),
        port=port,
        reads_port_env=reads_env,
        start_command=["dotnet", f"{name}.dll"],
        build_command=["dotnet", "publish", rel_in(svc.path, project), "-c", "Release", "-o", "/out"],
        build_output="/out",
        entrypoint=rel_in(svc.path, project),
        health_path=health,
        serves_http=web,
        env_vars=EnvVars(config=config, secret=secret),
        has_dockerfile=svc.has(tree, "Dockerfile"),
        evidence=col.evidence,
    )
