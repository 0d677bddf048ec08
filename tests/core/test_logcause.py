"""The one line that says why, picked from log tails captured on the real-app corpus (bench/corpus.py)."""

from __future__ import annotations

import pytest

from containerkit.logcause import cause_of, last_line

CASES = [
    # py-microblog: multidict 6.0.4 has no cp312 wheel and the slim image has no compiler
    (
        "      building 'multidict._multidict' extension\n      gcc -fno-strict-overflow -Wsign-compare -c "
        "multidict/_multidict.c\n"
        "      error: [Errno 2] No such file or directory: 'gcc'\n      [end of output]\n  ERROR: Failed building "
        "wheel for multidict\n"
        "ERROR: Failed to build installable wheels for some pyproject.toml based projects (multidict)\n",
        "error: [Errno 2] No such file or directory: 'gcc'",
    ),
    # py-flasky: a requirements file included with -r was not copied
    (
        "ERROR: Could not open requirements file: [Errno 2] No such file or directory: 'requirements/heroku.txt'\n",
        "Could not open requirements file: [Errno 2] No such file or directory: 'requirements/heroku.txt'",
    ),
    # node-uptime-kuma without its .npmrc (legacy-peer-deps)
    (
        "npm error code ERESOLVE\nnpm error ERESOLVE could not resolve\nnpm error\nnpm error While resolving: "
        "x@1.0.0\n",
        "ERESOLVE could not resolve",
    ),
    # java-petclinic-rest: go-offline resolving a reporting plugin
    (
        "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-dependency-plugin:3.10.0:go-offline "
        "(default-cli) on "
        "project spring-petclinic-rest: The following artifacts could not be resolved\n[ERROR] \n[ERROR] To see the "
        "full stack trace\n",
        "Failed to execute goal org.apache.maven.plugins:maven-dependency-plugin:3.10.0:go-offline (default-cli) on "
        "project "
        "spring-petclinic-rest: The following artifacts could not be resolved",
    ),
    # rust-zero2prod at start (Rust 1.9x prints the thread id and the message on the next line)
    (
        "\nthread 'main' (6) panicked at src/main.rs:13:45:\nFailed to read configuration.: missing field `base_url`\n"
        "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
        "thread 'main' (6) panicked at src/main.rs:13:45: Failed to read configuration.: missing field `base_url`",
    ),
    # py-fastapi-realworld at start: the last exception of the traceback
    (
        'Traceback (most recent call last):\n  File "/usr/local/bin/uvicorn", line '
        "8\npydantic.error_wrappers.ValidationError: 2 "
        "validation errors for ProdAppSettings\ndatabase_url\n  field required (type=value_error.missing)\n",
        "pydantic.error_wrappers.ValidationError: 2 validation errors for ProdAppSettings",
    ),
    # java-javalin-html-forms at start, before the fix: the main class of an uncompiled Kotlin twin
    (
        "Error: Could not find or load main class JavalinHtmlFormsExampleAppKt\n"
        "Caused by: java.lang.ClassNotFoundException: JavalinHtmlFormsExampleAppKt\n",
        "java.lang.ClassNotFoundException: JavalinHtmlFormsExampleAppKt",
    ),
    # py-flasky: a 2017 pin's setup.py imports imp, gone in Python 3.12; pip's own line is only
    # "subprocess-exited-with-error"
    (
        "      File \"<string>\", line 22, in <module>\n      ModuleNotFoundError: No module named 'imp'\n      [end "
        "of output]\n"
        "  note: This error originates from a subprocess, and is likely not a problem with pip.\nerror: "
        "subprocess-exited-with-error\n",
        "ModuleNotFoundError: No module named 'imp'",
    ),
    # node-hackathon-starter: a dependency fetched from GitHub
    (
        "npm error network request to https://codeload.github.com/SeattleDevs/fetch-blob/tar.gz/6a15e5f failed, "
        "reason: "
        "getaddrinfo ENOTFOUND codeload.github.com\nnpm error A complete log of this run can be found in: "
        "/root/.npm/x.log\n",
        "network request to https://codeload.github.com/SeattleDevs/fetch-blob/tar.gz/6a15e5f failed, reason: "
        "getaddrinfo "
        "ENOTFOUND codeload.github.com",
    ),
    (
        "gyp ERR! stack Error: getaddrinfo ENOTFOUND nodejs.org\ngyp ERR! $npm_package_version 15.1.6\n",
        "getaddrinfo ENOTFOUND nodejs.org",
    ),
    # the classic builder merges apt's stdout and stderr: under load its error lands in the middle of a progress line
    (
        "Reading package lists...\nBuilding dependency tree...\nReading state information...E: Unable to locate "
        "package ck-x\n",
        "Unable to locate package ck-x",
    ),
    ("Reading state information... DoneE: Unable to locate package ck-y\n", "Unable to locate package ck-y"),
    (
        "panic: listen tcp :80: bind: permission denied\n\ngoroutine 1 [running]:\n",
        "panic: listen tcp :80: bind: permission denied",
    ),
    (
        "node:internal/modules/cjs/loader:1228\n  throw err;\n  ^\n\nError: Cannot find module '/app/dist/server.js'\n",
        "Error: Cannot find module '/app/dist/server.js'",
    ),
]


@pytest.mark.parametrize(("log", "cause"), CASES)
def test_the_line_that_says_why(log: str, cause: str) -> None:
    assert cause_of(log) == cause


def test_no_line_says_why_and_the_last_line_stands_in() -> None:
    log = '{"message":"No client secret. Set SESSION_SECRET environment variable.","level":"error"}\n'
    assert cause_of("listening on 3000\nshutting down\n") is None
    assert last_line(log) == log.strip()


def test_a_module_not_found_is_no_network_failure() -> None:
    # py-flasky was reported as NETWORK: "ModuleNotFoundError" contains "eNotFound", matched as npm's ENOTFOUND
    from containerkit.engine.classify import classify

    err = classify(
        "The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1",
        "      ModuleNotFoundError: No module named 'imp'\nerror: subprocess-exited-with-error\n",
        None,
        5,
        dockerfile="Dockerfile",
    )
    assert err.code != "NETWORK"
