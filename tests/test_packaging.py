"""The wheel is the product: built from this checkout and installed elsewhere, Resolver still finds
its workflow, templates, stylesheet and migrations, and can build a database and render a page."""
from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

# Build from a clean copy: setuptools' build/ folder would otherwise carry files deleted since.
IGNORED = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "instance", "test-artifacts", "__pycache__", ".pytest_cache",
    ".hypothesis", ".venv", ".test-venv", "bench",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(folder / "dist"), str(source)],
        check=True, capture_output=True, text=True,
    )
    (built,) = (folder / "dist").glob("resolver-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel)],
        check=True, capture_output=True, text=True,
    )
    return target


def _checkout_files(folder: str, pattern: str = "*") -> set[str]:
    base = ROOT / folder
    return {p.relative_to(base).as_posix() for p in base.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts}


def test_the_wheel_carries_every_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = (
        {f"resolver/workflows/{n}" for n in _checkout_files("workflows", "*.yaml")}
        | {f"resolver/templates/{n}" for n in _checkout_files("templates")}
        | {f"resolver/static/{n}" for n in _checkout_files("resolver/static")}
        | {f"resolver/migrations/{n}" for n in _checkout_files("resolver/migrations")}
        | {f"resolver/{n}" for n in _checkout_files("resolver", "*.yaml")}
        | {f"resolver/translations/{n}" for n in _checkout_files("resolver/translations", "*.mo")}
    )
    assert "resolver/workflows/dispute.yaml" in expected
    assert any(n.startswith("resolver/templates/emails/") for n in expected), "nested template folders are covered"
    assert any(n.startswith("resolver/migrations/versions/") for n in expected)
    assert "resolver/demo_scenarios.yaml" in expected
    assert "resolver/translations/es/LC_MESSAGES/messages.mo" in expected, "Spanish ships compiled"
    assert sorted(expected - names) == []


def test_every_python_package_is_listed_in_setup_cfg():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "resolver").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert sorted(on_disk - listed) == [], "add these packages to [options] packages in setup.cfg"


def test_installed_wheel_works_from_another_folder(installed, tmp_path):
    """Create the app, build the database through the migrations, load the workflow, render a template."""
    script = textwrap.dedent(
        """
        import resolver
        from sqlalchemy import inspect

        from resolver import create_app
        from resolver.cli import init
        from resolver.extensions import db
        from resolver.migrations import current_revision, head_revision
        from resolver.workflow.definition import load_definition

        app = create_app()
        runner = app.test_cli_runner()
        result = runner.invoke(init)
        assert result.exit_code == 0, result.output
        print(result.output.strip())
        with app.app_context():
            assert current_revision() == head_revision()
            assert inspect(db.engine).has_table("dispute")
            workflow = load_definition("dispute")
            assert "awaiting_evidence" in workflow.states
            assert app.jinja_env.get_template("emails/evidence_invitation.txt") is not None
        with app.test_request_context("/"):
            # The page template and the base it extends, straight from the installed package.
            html = app.jinja_env.get_template("error.html").render(message="That link has expired.")
        assert "<html" in html and "That link has expired." in html and "resolver.css" in html, html[:500]
        assert app.test_client().get("/static/resolver.css").status_code == 200
        print("package at", resolver.__file__)
        print("states", len(workflow.states))
        """
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("RESOLVER_") and key != "PYTHONPATH"
    }
    environment.update(
        PYTHONPATH=str(installed),
        RESOLVER_INSTANCE_PATH=str(tmp_path / "instance"),
        RESOLVER_DATABASE_URL=f"sqlite:///{tmp_path / 'packaged.db'}",
        RESOLVER_SECRET_KEY="packaging-test",
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=work, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "Created the database" in done.stdout
    assert f"package at {installed}" in done.stdout, "the installed copy ran, not the checkout"
