"""Prose about secrets is not a secret: a hint naming a command in backticks after "token:" reaches the user whole,
while a value after the same name is still masked."""

from __future__ import annotations

from containerkit import redaction


def test_a_command_in_backticks_after_a_secret_name_is_shown() -> None:
    hint = "Use a long random token: `openssl rand -hex 32`."
    assert redaction.redact(hint) == hint


def test_a_value_after_the_same_name_is_masked() -> None:
    assert "hunter2" not in redaction.redact("token: hunter2")
    assert "hunter2" not in redaction.redact("API_TOKEN=hunter2")
