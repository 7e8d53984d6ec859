"""`resolver --help` answers at once: listing the commands builds no app, touches no disk, and imports
neither the web app nor the models; and importing the web app hashes no password."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from resolver.cli import all_commands

ROOT = Path(__file__).resolve().parents[1]
# What building the app brings in: none of it is needed to say which commands there are.
HEAVY = ("resolver.web", "resolver.models", "resolver.extensions", "resolver.workflow", "resolver.backup.restore",
         "sqlalchemy", "flask_sqlalchemy", "alembic", "yaml", "transitions")


def run_python(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """A fresh Python, as an operator's shell would start one, with an instance folder not made yet."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RESOLVER_")}
    environment.update(PYTHONPATH=str(ROOT), RESOLVER_INSTANCE_PATH=str(tmp_path / "instance"))
    return subprocess.run([sys.executable, *args], cwd=tmp_path, env=environment, capture_output=True, text=True,
                          timeout=120)


def test_help_lists_every_command_without_building_the_app(tmp_path):
    result = run_python(tmp_path, "-m", "resolver", "--help")
    assert result.returncode == 0, result.stderr
    for command in all_commands():
        assert f"  {command.name} " in result.stdout
    assert not (tmp_path / "instance").exists(), "no instance folder, no secret key, no database"
    assert list(tmp_path.iterdir()) == []


def test_a_commands_own_help_builds_nothing_either(tmp_path):
    result = run_python(tmp_path, "-m", "resolver", "worker", "--help")
    assert result.returncode == 0, result.stderr
    assert "Fire due deadlines, send queued email" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_imports_neither_the_web_app_nor_the_models(tmp_path):
    result = run_python(tmp_path, "-c", f"import sys, resolver.cli, resolver.__main__; "
                                        f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_importing_the_web_app_hashes_no_password(tmp_path):
    """scrypt is slow on purpose; the hash an unknown address is checked against is made when first needed."""
    counting = ("import werkzeug.security as security; calls = []; real = security.generate_password_hash; "
                "security.generate_password_hash = lambda *a, **k: calls.append(1) or real(*a, **k); "
                "import resolver.web.manager.auth; print(len(calls))")
    result = run_python(tmp_path, "-c", counting)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"
