"""Every distribution Resolver, its tests and its benchmarks import is one that setup.cfg names, every
requirement setup.cfg names is used, and the lock files were compiled from setup.cfg as it is: a fresh
machine installs what is needed, and a package left over on some machine can hide nothing."""
from __future__ import annotations

import ast
import configparser
import sys
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
OUR_PACKAGES = {"resolver", "tests", "bench"}

# Which requirements each tree may import: the application only what installing Resolver brings; the
# tests and benchmarks (run by the test command) also the test extra.
# The application's PostgreSQL-only parts (the outbox's LISTEN/NOTIFY wake-up) import the driver the
# postgres extra installs, and only when the database is PostgreSQL.
TREES = {
    "resolver": ("install_requires", "postgres"),
    "wsgi.py": ("install_requires",),
    "tests": ("install_requires", "test"),
    "bench": ("install_requires", "test"),
}

# Requirements used other than by an import from those trees, and how.
USED_WITHOUT_IMPORT = {
    ("install_requires", "jinja2"): "every page, email and letter in templates/ is a Jinja template",
    ("install_requires", "tzdata"): "zoneinfo reads company time zones from it where the system has none",
    ("postgres", "psycopg"): "SQLAlchemy loads it for postgresql+psycopg:// database URLs",
    ("production", "psycopg"): "SQLAlchemy loads it for postgresql+psycopg:// database URLs",
    ("production", "gunicorn"): "serves the web app in deployment (deploy/gunicorn.conf.py, Procfile)",
    ("test", "setuptools"): "tests/test_packaging.py builds Resolver's wheel without build isolation",
    ("test", "wheel"): "tests/test_packaging.py builds Resolver's wheel without build isolation",
    ("test", "flask-cors"): "moto's ThreadedMotoServer imports it (tests/s3server.py)",
}

# Each lock file and the sections of setup.cfg it is compiled from.
LOCKS = {
    "requirements/run.txt": ("install_requires", "production"),
    "requirements/test.txt": ("install_requires", "postgres", "production", "test"),
}


@cache
def declared() -> dict[str, dict[str, Requirement]]:
    """setup.cfg's requirements by section (install_requires, then each extra), by canonical name."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    sections = {"install_requires": config["options"]["install_requires"]}
    sections.update(config["options.extras_require"])
    return {
        section: {canonicalize_name(r.name): r for r in map(Requirement, _lines(text))}
        for section, text in sections.items()
    }


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


@cache
def imports(tree: str) -> list[tuple[str, str]]:
    """(top-level module, file) for every absolute import in a tree, in functions too."""
    base = ROOT / tree
    files = [base] if base.suffix == ".py" else sorted(base.rglob("*.py"))
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            found += [(module.partition(".")[0], str(path.relative_to(ROOT))) for module in modules]
    return [(module, path) for module, path in found
            if module not in sys.stdlib_module_names and module not in OUR_PACKAGES]


@cache
def distributions(module: str) -> set[str]:
    return {canonicalize_name(name) for name in _installed().get(module, [])}


@cache
def _installed() -> dict[str, list[str]]:
    return packages_distributions()


@pytest.mark.parametrize("tree", TREES)
def test_every_import_is_a_declared_requirement(tree):
    allowed = {name for section in TREES[tree] for name in declared()[section]}
    problems = set()
    for module, path in imports(tree):
        providers = distributions(module)
        if not providers:
            problems.add(f"{path} imports {module}, which no installed distribution provides")
        elif not providers & allowed:
            problems.add(f"{path} imports {module} (from {', '.join(sorted(providers))}), "
                         f"which {' or '.join(TREES[tree])} in setup.cfg should name")
    assert not problems, "\n".join(sorted(problems))


def test_every_requirement_is_used():
    unused = []
    for section, requirements in declared().items():
        readers = [tree for tree, sections in TREES.items() if section in sections]
        imported = {name for tree in readers for module, _ in imports(tree) for name in distributions(module)}
        unused += [f"{section}: {name}" for name in requirements
                   if name not in imported and (section, name) not in USED_WITHOUT_IMPORT]
    assert not unused, "declared in setup.cfg but neither imported nor known to be used otherwise:\n" + "\n".join(unused)


@pytest.mark.parametrize(("section", "name"), USED_WITHOUT_IMPORT)
def test_what_is_used_without_an_import_is_declared(section, name):
    assert name in declared()[section], f"{section} in setup.cfg should name {name}: {USED_WITHOUT_IMPORT[section, name]}"


def locked(path: str) -> dict[str, str]:
    """The exact versions a lock file pins, by canonical name."""
    pins = {}
    for line in (ROOT / path).read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            requirement = Requirement(line.split(" \\")[0])
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{path} pins {requirement.name} with {specifier}"
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


@pytest.mark.parametrize("path", LOCKS)
def test_the_lock_files_follow_setup_cfg(path):
    """Each lock pins every requirement of its sections at a version the range allows, with hashes; a
    range changed without compiling the locks again fails here (README: "Dependencies")."""
    pins = locked(path)
    assert "--hash=sha256:" in (ROOT / path).read_text()
    for section in LOCKS[path]:
        for name, requirement in declared()[section].items():
            assert name in pins, f"{path} lacks {name} from {section}: compile the locks again"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"{path} pins {name}=={pins[name]}, outside {section}'s {requirement.specifier}: "
                "compile the locks again")
