"""Secret detection: rules, masking, .dockerignore awareness, image layers incl. deleted files; values never stored."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest

from containerkit.scan.secrets.context import scan_context
from containerkit.scan.secrets.patterns import mask, scan_text
from tests.conftest import Harness
from tests.scan.helpers import ensure_image

# Built at runtime so no complete token sits in the repository as one literal.
AWS_ID = "AKIA" + "Z7QW3RT5YU8IOP2L"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq8Jk2mNp4"
GH_TOKEN = "ghp_" + "R4nd0mT0k3nV4lu3F0rT3st1ngOnly123456"
GL_TOKEN = "glpat-" + "Xy7_9kLmN0pQ-rStUvWx"
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
STRIPE = "sk_live_" + "51HqA2bC3dE4fG5hI6jK7lM8"
GH_PAT = "github_pat_" + "11ABCDEFG0123456789abc" + "_" + "A" * 20 + "b" * 20 + "C" * 19
PEM = "-----BEGIN " + "RSA PRIVATE KEY-----"
# random key material (not a key anyone holds), in PEM's 64-column base64 lines
_BODY = base64.b64encode(random.Random(11).randbytes(900)).decode()
PEM_BLOCK = "\n".join([PEM, *(_BODY[i : i + 64] for i in range(0, len(_BODY), 64)), "-----END RSA PRIVATE KEY-----"])
PASSWORD = "Tr0ub4dor&3-horse-Battery"
ALL = [AWS_ID, AWS_SECRET, GH_TOKEN, GL_TOKEN, SLACK, STRIPE, GH_PAT, PASSWORD]


def _rules(text: str) -> list[tuple[str, int]]:
    return [(m.rule.id, m.line) for m in scan_text(text)]


def test_each_rule_finds_its_secret_on_the_right_line() -> None:
    text = "\n".join(
        [
            f"aws_access_key_id = {AWS_ID}",
            f"aws_secret_access_key = {AWS_SECRET}",
            f"token: {GH_TOKEN}",
            f"GITLAB={GL_TOKEN}",
            f"slack = '{SLACK}'",
            f"STRIPE_KEY={STRIPE}",
            "nothing here",
            f'db_password = "{PASSWORD}"',
            f"gh = {GH_PAT}",
            f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={'A1b2C3d4' * 10}"
            "abcdef==;EndpointSuffix=core.windows.net",
            PEM_BLOCK,
        ]
    )
    found = _rules(text)
    assert ("aws-access-key-id", 1) in found and ("aws-secret-access-key", 2) in found and ("github-token", 3) in found
    assert ("gitlab-token", 4) in found and ("slack-token", 5) in found and ("stripe-live-key", 6) in found
    assert (
        ("private-key", 11) in found and ("generic-password", 8) in found and ("github-fine-grained-token", 9) in found
    )
    assert ("azure-storage-key", 10) in found


def test_gcp_service_account_key_is_one_finding() -> None:
    doc = json.dumps(
        {
            "type": "service_account",
            "project_id": "p",
            "private_key_id": "abc",
            "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
            "-----END PRIVATE KEY-----\n",
        },
        indent=1,
    )
    assert [r for r, _ in _rules(doc)] == ["gcp-service-account"]


@pytest.mark.parametrize(
    "line",
    [
        'password = "changeme"',
        'password = "${DB_PASSWORD}"',
        "password: '<your-password>'",
        'secret = "xxxxxxxxxxxx"',
        'api_key = "aaaaaaaaaaaaaaaa"',
        "password = os.environ['DB_PASSWORD']",
    ],
)
def test_placeholders_and_low_entropy_values_are_not_secrets(line: str) -> None:
    assert _rules(line) == []


def test_masking_keeps_four_characters_and_hides_the_length() -> None:
    assert mask(GH_TOKEN) == "ghp_********" and mask(AWS_ID) == "AKIA********"
    [m] = list(scan_text(f"x = {GH_TOKEN}"))
    assert m.masked == "ghp_********" and GH_TOKEN not in repr(m)


def _context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    (ctx / "config").mkdir(parents=True)
    (ctx / ".git").mkdir()
    (ctx / "app.py").write_text(f'import os\nGITHUB = "{GH_TOKEN}"\n')
    (ctx / "config" / "prod.env").write_text(f"AWS_ACCESS_KEY_ID={AWS_ID}\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\n")
    (ctx / "id_rsa").write_text(PEM_BLOCK + "\n")
    (ctx / ".git" / "config").write_text(f"token = {GL_TOKEN}\n")
    (ctx / "logo.png").write_bytes(b"\x89PNG\x00\x00" + GH_TOKEN.encode())
    (ctx / ".dockerignore").write_text("# keep keys out\nid_rsa\n**/*.env\n")
    return ctx


def test_context_scan_reports_file_line_and_whether_the_build_receives_it(tmp_path: Path) -> None:
    report = scan_context(_context(tmp_path))
    found = {(f.file, f.line, f.rule): f.in_build_context for f in report.findings}
    assert found == {
        ("app.py", 2, "github-token"): True,
        ("config/prod.env", 1, "aws-access-key-id"): False,
        ("config/prod.env", 2, "aws-secret-access-key"): False,
        ("id_rsa", 1, "private-key"): False,
    }
    assert report.dockerignore and "1 would be sent to the build" in report.summary


def test_secret_values_never_reach_the_result_or_the_store(harness: Harness, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    result = harness.call("scan_secrets", target=str(ctx), session_id=harness.app.services.store.create_session().id)
    dumped = result.model_dump_json()
    assert len(result.report.findings) == 4
    store = harness.app.services.store
    stored = json.dumps(store.get_state(result.session_id)[0]) + json.dumps(
        [j.model_dump() for j in store.list_jobs(result.session_id)]
    )
    for value in ALL:
        assert value not in dumped and value[4:] not in dumped
        assert value not in stored
    db_bytes = Path(harness.app.settings.resolved_store_path).read_bytes()
    assert GH_TOKEN.encode() not in db_bytes and AWS_SECRET.encode() not in db_bytes


def test_image_layers_scan_finds_secrets_in_files_deleted_by_later_layers(harness: Harness, docker_client: Any) -> None:
    dockerfile = (
        "FROM debian:bookworm-slim\nCOPY deploy.env /app/deploy.env\nCOPY key.pem /root/.ssh/id_rsa\n"
        "RUN rm /root/.ssh/id_rsa\nCOPY settings.py /app/settings.py\n"
    )
    extra = {
        "deploy.env": f"SLACK_BOT={SLACK}\n",
        "key.pem": PEM_BLOCK + "\n",
        "settings.py": f'DEBUG = False\nSTRIPE = "{STRIPE}"\n',
    }
    image = ensure_image(docker_client, "ck-scan-secrets:latest", dockerfile, extra)
    result = harness.call("scan_secrets", target=image)
    report = result.report
    by_file = {f.file: f for f in report.findings}
    assert set(by_file) == {"/app/deploy.env", "/root/.ssh/id_rsa", "/app/settings.py"}
    key = by_file["/root/.ssh/id_rsa"]
    assert key.deleted_in_later_layer and key.rule == "private-key" and key.line == 1
    assert key.layer is not None and key.layer.startswith("sha256:") and key.created_by and "COPY" in key.created_by
    assert not by_file["/app/deploy.env"].deleted_in_later_layer
    assert by_file["/app/settings.py"].line == 2 and by_file["/app/settings.py"].masked == "sk_l********"
    assert by_file["/app/deploy.env"].layer_index < key.layer_index < by_file["/app/settings.py"].layer_index
    assert "still readable from the image" in report.summary
    assert SLACK not in result.model_dump_json() and STRIPE not in result.model_dump_json()


def test_generic_password_rule_skips_third_party_code_but_token_rules_do_not() -> None:
    from containerkit.scan.secrets.layers import is_third_party

    doc = (
        f"    >>> handler.add_password(realm='PDQ', uri='https://x', user='klem', passwd='{PASSWORD}')\n"
        f"token = '{GH_TOKEN}'\n"
    )
    assert [m.rule.id for m in scan_text(doc)] == ["generic-password", "github-token"]
    assert [m.rule.id for m in scan_text(doc, generic=False)] == ["github-token"]
    assert is_third_party("/usr/lib/python3.11/urllib/request.py") and is_third_party(
        "/app/.venv/lib/python3.12/site-packages/x.py"
    )
    assert not is_third_party("/app/settings.py") and not is_third_party("/root/.aws/credentials")


def test_a_private_key_header_needs_real_key_material() -> None:
    npm_doc = "\n".join(
        [
            PEM,
            *["XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"] * 6,
            "-----END RSA PRIVATE KEY-----",
        ]
    )
    dots = "\n".join([PEM, "...", "-----END RSA PRIVATE KEY-----"])
    assert _rules(npm_doc) == [] and _rules(dots) == [] and _rules(PEM) == []
    assert _rules(PEM_BLOCK) == [("private-key", 1)]


def _ck(args: list[str], home: Path) -> Any:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {
        **os.environ,
        "CONTAINERKIT_HOME": str(home),
        "CONTAINERKIT_CONFIG": str(home / "none.yaml"),
        "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(home.parent), str(ROOT)]),
    }
    return subprocess.run(
        [sys.executable, "-m", "containerkit", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )


def test_secrets_in_the_image_configuration_are_found_and_gate_the_cli(docker_client: Any, tmp_path: Path) -> None:
    dockerfile = (
        f"FROM debian:bookworm-slim\nENV API_TOKEN={PASSWORD}\nLABEL deploy.key={GH_TOKEN}\n"
        "RUN echo building > /built\n"
    )
    image = ensure_image(docker_client, "ck-scan-config-secrets:latest", dockerfile)
    out = _ck(["scan-secrets", image, "--json"], tmp_path / "home")
    assert out.returncode == 0, out.stderr
    findings = json.loads(out.stdout)["report"]["findings"]
    places = {(f["file"], f["rule"]) for f in findings}
    assert ("image config: Env", "secret-assignment") in places
    assert ("image config: Labels", "github-token") in places
    assert any(f["file"] == "image history: created_by" for f in findings)
    gated = _ck(["scan-secrets", image, "--fail-on", "any", "--json"], tmp_path / "home")
    assert gated.returncode == 3, gated.stderr
    error = json.loads(gated.stdout)["error"]
    assert error["code"] == "POLICY_VIOLATION" and error["details"]["report"]["findings"]
    for value in (PASSWORD, GH_TOKEN):
        assert value not in out.stdout + gated.stdout + gated.stderr


def test_build_steps_logs_state_and_results_never_show_secret_values(
    harness: Harness, docker_client: Any, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    canary = "Canary" + "V4lue9x7Q2"
    (app / "Dockerfile").write_text(
        f"FROM debian:bookworm-slim\nENV API_TOKEN={canary}\nARG DB_PASSWORD={canary}\n"
        f"RUN export GITHUB_TOKEN={canary} && echo token=$GITHUB_TOKEN\nENV STRIPE {STRIPE}\n"
    )
    sid = harness.app.services.store.create_session().id
    result = harness.call("build_image", path=str(app), tags=["ck-redact-canary:1"], session_id=sid)
    assert result.steps and canary not in result.model_dump_json() and STRIPE not in result.model_dump_json()
    store = harness.app.services.store
    log = store.get_artifact(result.log_artifact_id)[1].decode()
    assert "API_TOKEN=***" in log or "API_TOKEN ***" in log
    assert canary not in log and STRIPE not in log
    assert canary not in json.dumps(store.get_state(sid)[0]) and STRIPE not in json.dumps(store.get_state(sid)[0])
    assert canary.encode() not in Path(harness.app.settings.resolved_store_path).read_bytes()


def test_unquoted_env_values_yaml_keys_and_url_passwords_are_found_in_a_context(tmp_path: Path) -> None:
    """The probe's misses: `DATABASE_PASSWORD=...` unquoted in .env, `password: ...` in YAML, `--index-url
    https://user:pass@…`; placeholders (`${API_KEY}`, `user:password@localhost`) stay quiet."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / ".env").write_text("DATABASE_PASSWORD=Zq8rT2vLp9Xw\nDEBUG=true\nAPI_KEY=${API_KEY}\n")
    (ctx / "settings.production.env").write_text("STRIPE_SECRET=Lr9wKq2ZpX7mTv4s\n")
    (ctx / "config.yml").write_text(
        "db:\n  user: app\n  password: Hx7mQ2pL9wZr\n  password_file: ${DB_PASS}\n  token: changeme\n"
    )
    (ctx / "install.sh").write_text(
        "pip install --index-url https://deploy:Gk4pWq9Zs2Lm@pypi.corp.example/simple app\n"
        "DATABASE_URL=postgres://user:password@localhost/db\n"
    )
    (ctx / ".dockerignore").write_text(".git\n")
    out = _ck(["scan-secrets", str(ctx), "--json"], tmp_path / "home")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)["report"]
    found = {(f["rule"], f["file"], f["line"]) for f in report["findings"]}
    assert found == {
        ("secret-assignment", ".env", 1),
        ("secret-assignment", "settings.production.env", 1),
        ("yaml-secret", "config.yml", 3),
        ("url-credentials", "install.sh", 1),
    }
    assert report["warnings"] and ".dockerignore does not exclude .env" in report["warnings"][0]
    for value in ("Zq8rT2vLp9Xw", "Lr9wKq2ZpX7mTv4s", "Hx7mQ2pL9wZr", "Gk4pWq9Zs2Lm"):
        assert value not in out.stdout + out.stderr
