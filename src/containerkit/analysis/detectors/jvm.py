"""Java services: Maven / Gradle; Spring Boot, Quarkus, Micronaut."""

from __future__ import annotations

import re

from containerkit.analysis.detectors import ServiceDir
from containerkit.analysis.evidence import HEALTH_ROUTE, Collector, first, search, split_env
from containerkit.analysis.models import EnvVars, ServiceAnalysis
from containerkit.analysis.walk import Tree

BUILD_FILES = ("pom.xml", "build.gradle", "build.gradle.kts")
ENV_READ = re.compile(r"""(?:System\.getenv\(\s*"|\$\{)([A-Z_][A-Z0-9_]*)""")
JAVA_VERSION = (
    r"<java\.version>\s*(\d+)",
    r"<maven\.compiler\.release>\s*(\d+)",
    r"<release>\s*(\d+)",
    r"<maven\.compiler\.source>\s*(?:1\.)?(\d+)",
    r"JavaLanguageVersion\.of\(\s*(\d+)",
    r"sourceCompatibility\s*=\s*['\"]?(?:JavaVersion\.VERSION_)?(?:1[._])?(\d+)",
)
# ports set in code: Javalin .start(7070), Spark port(4567), gRPC forPort(50051) / int port = 50051
CODE_PORT = re.compile(
    r"""(?:\.start\(\s*|\bport\(\s*|[Ff]orPort\(\s*|\b(?:int|val|var)\s+(?:port|PORT|DEFAULT_PORT)\s*(?::\s*Int)?\s*=\s*)(\d{2,5})\b"""
)
DEFAULT_PORT = {"spring-boot": 8080, "quarkus": 8080, "micronaut": 8080, "javalin": 8080, "spark": 4567}
YAML_PORT = re.compile(r"^\s+port:\s*\$?\{?(?:PORT:)?(\d{2,5})")
BACKING = {
    "postgresql": "postgres",
    "mysql-connector": "mysql",
    "mariadb": "mysql",
    "mongodb": "mongodb",
    "spring-boot-starter-data-redis": "redis",
    "jedis": "redis",
    "spring-boot-starter-amqp": "rabbitmq",
    "kafka": "kafka",
}


def is_aggregator(tree: Tree, svc: ServiceDir) -> bool:
    pom = tree.read(svc.rel("pom.xml")) if svc.has(tree, "pom.xml") else ""
    return "<modules>" in pom and "<packaging>pom</packaging>" in pom


def detect(tree: Tree, svc: ServiceDir) -> ServiceAnalysis | None:
    build_file = next((b for b in BUILD_FILES if svc.has(tree, b)), None)
    if build_file is None:
        return None
    col = Collector()
    text = tree.read(svc.rel(build_file))
    maven = build_file == "pom.xml"
    framework = None
    for marker, fw in (
        ("spring-boot", "spring-boot"),
        ("org.springframework.boot", "spring-boot"),
        ("quarkus", "quarkus"),
        ("micronaut", "micronaut"),
        ("io.javalin", "javalin"),
        ("com.sparkjava", "spark"),
    ):
        if marker in text:
            framework = fw
            col.add("framework", svc.rel(build_file), f"mentions {marker}")
            break
    version = None
    for pattern in JAVA_VERSION:
        match = re.search(pattern, text)
        if match:
            version = match.group(1)
            col.add("language_version", svc.rel(build_file), match.group(0).strip())
            break
    config_files = [f for f in svc.files if re.search(r"src/main/resources/application[^/]*\.(properties|ya?ml)$", f)]
    port = None
    for found in search(
        tree, config_files, re.compile(r"(?:server\.port|quarkus\.http\.port)\s*[=:]\s*\$?\{?(?:PORT:)?(\d{2,5})")
    ):
        port = int(found.value)
        col.add("port", found.file, found.text, found.line)
        break
    if port is None:
        yaml_port = first(tree, [f for f in config_files if f.endswith(("yml", "yaml"))], YAML_PORT)
        if yaml_port:
            port = int(yaml_port.value)
            col.add("port", yaml_port.file, yaml_port.text, yaml_port.line)
    sources = [f for f in svc.files if f.endswith((".java", ".kt")) and "/test/" not in f]
    if port is None and framework not in ("spring-boot", "quarkus", "micronaut"):
        in_code = first(tree, sources, CODE_PORT)
        if in_code:
            port = int(in_code.value)
            col.add("port", in_code.file, in_code.text, in_code.line)
    if port is None and framework:
        port = DEFAULT_PORT[framework]
        col.add("port", svc.rel(build_file), f"{framework} default port {port}")
    # a gRPC server without an HTTP framework: TCP checks, never HTTP probes
    grpc = (
        framework is None and "io.grpc" in text and bool(first(tree, sources, re.compile(r"(ServerBuilder|forPort\()")))
    )
    if grpc:
        col.add("serves_http", svc.rel(build_file), "gRPC server (io.grpc) without an HTTP framework")
    reads_env = bool(first(tree, config_files, re.compile(r"(\$\{PORT)")))
    health = None
    if "actuator" in text:
        health = "/actuator/health"
        col.add("health_path", svc.rel(build_file), "spring-boot-starter-actuator")
    elif "smallrye-health" in text:
        health = "/q/health"
        col.add("health_path", svc.rel(build_file), "quarkus-smallrye-health")
    else:
        routes = search(tree, sources, HEALTH_ROUTE)
        if routes:
            health = routes[0].value
            col.add("health_path", routes[0].file, routes[0].text, routes[0].line)
    config, secret = split_env({f.value for f in search(tree, sources + config_files, ENV_READ)})
    artifact = re.search(r"<artifactId>([^<]+)</artifactId>", re.sub(r"<parent>.*?</parent>", "", text, flags=re.S))
    name = re.sub(
        r"[^a-z0-9-]+", "-", (artifact.group(1) if artifact and maven else svc.name(tree.root.name)).lower()
    ).strip("-")
    wrapper = "./mvnw" if svc.has(tree, "mvnw") else "mvn"
    if not maven:
        wrapper = "./gradlew" if svc.has(tree, "gradlew") else "gradle"
    build = (
        [wrapper, "-B", "-q", "package", "-DskipTests"] if maven else [wrapper, "build", "-x", "test", "--no-daemon"]
    )
    output = "target" if maven else "build/libs"
    if framework == "quarkus":
        output = "target/quarkus-app" if maven else "build/quarkus-app"
    main_class = _main_class(tree, text, sources, col)
    return ServiceAnalysis(
        path=svc.path or ".",
        name=name or "app",
        language="java",
        entrypoint=main_class,
        language_version=version,
        framework=framework,
        package_manager="maven" if maven else "gradle",
        lockfile="gradle.lockfile" if svc.has(tree, "gradle.lockfile") else None,
        manifest=build_file,
        port=port,
        reads_port_env=reads_env,
        start_command=["java", "-jar", "/app/app.jar"]
        if framework != "quarkus"
        else ["java", "-jar", "/app/quarkus-run.jar"],
        build_command=build,
        build_output=output,
        health_path=health,
        serves_http=port is not None and not grpc,
        env_vars=EnvVars(config=config, secret=secret),
        backing_services=sorted({v for k, v in BACKING.items() if k in text}),
        has_dockerfile=svc.has(tree, "Dockerfile"),
        evidence=col.evidence,
    )


def _main_class(tree: Tree, build_text: str, sources: list[str], col: Collector) -> str | None:
    """The class with main(): from the build file (<mainClass>, mainClass = ...), else the source that declares it."""
    declared = re.search(
        r"""<(?:mainClass|main\.class|exec\.mainClass)>\s*([\w.$]+)\s*<|mainClass(?:Name)?(?:\.set\(|\s*=)\s*["']([\w.$]+)["']""",
        build_text,
    )
    if declared and "${" not in declared.group(0):
        col.add("entrypoint", "build file", declared.group(0).strip())
        return declared.group(1) or declared.group(2)
    # Kotlin sources are compiled only when the build applies Kotlin (javalin-html-forms keeps a .kt twin of its Java
    # app that its pom never compiles)
    kotlin = "kotlin" in build_text.lower()
    for rel in sorted(sources, key=lambda f: (f.count("/"), f)):
        code = tree.read(rel)
        java_main = rel.endswith(".java") and re.search(r"public\s+static\s+void\s+main\s*\(", code)
        kotlin_main = kotlin and rel.endswith(".kt") and re.search(r"^fun\s+main\s*\(", code, re.M)
        if java_main or kotlin_main:
            package = re.search(r"^package\s+([\w.]+)", code, re.M)
            stem = rel.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            cls = stem if java_main else stem[:1].upper() + stem[1:] + "Kt"
            col.add("entrypoint", rel, "declares main()")
            return f"{package.group(1)}.{cls}" if package else cls
    return None
