"""bench init on small synthetic checkouts: what it guesses, what it writes, and that bench's
own loader reads the result. No engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.apps import load_apps
from bench.cli import main
from bench.errors import UserError
from bench.init import guess_health, guess_port, instructions, plan_init

FLASK_DOCKERFILE = """\
# a third-party Flask app, as its authors wrote it
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir \\
      -r requirements.txt
COPY app/ /app/
EXPOSE 80
CMD ["gunicorn", "-b", "0.0.0.0:80", "main:app"]
"""


def _touch(p: Path, text: str, mtime: int) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    os.utime(p, (mtime, mtime))


@pytest.fixture
def checkout(tmp_path):
    root = tmp_path / "My Flask App"
    _touch(root / "Dockerfile", FLASK_DOCKERFILE, 1_000)
    _touch(root / "requirements.txt", "flask\ngunicorn\n", 9_000)  # newest, but not source
    _touch(root / "app" / "main.py", 'from flask import Flask\napp = Flask(__name__)\n\n@app.get("/")\n'
           'def index():\n    return "<h1>hello</h1>"\n', 5_000)
    _touch(root / "app" / "util.py", "X = 1\n", 2_000)
    _touch(root / "app" / "templates" / "index.html", "<p>hi</p>\n", 3_000)
    _touch(root / "tests" / "test_main.py", "def test(): pass\n", 8_000)  # newer, but not copied
    return root


def test_flask_checkout_is_loaded_by_bench(checkout, capsys):
    assert main(["init", str(checkout)]) == 0
    out = capsys.readouterr().out.splitlines()
    app_dir = checkout / "bench-app" / "my-flask-app"
    assert out[0] == f"wrote {app_dir}"
    assert any(x.startswith("port: 80 (from EXPOSE 80") for x in out)
    assert any(x.startswith("health path: / (no HEALTHCHECK") for x in out)
    assert any(x.startswith("edit target: app/main.py (the most recently modified") for x in out)
    assert all(str(app_dir / "app.toml") in x for x in out if x.startswith(("port", "health", "edit", "context")))

    (app,) = load_apps(checkout / "bench-app")
    assert (app.name, app.port, app.health_path, app.language) == ("my-flask-app", 80, "/", "python")
    assert app.context == checkout.resolve()
    assert (app.edit.file, app.edit.append) == ("app/main.py", "# edited by bench")
    (v,) = app.variants
    assert v.name == "original" and v.bases == ("python:3.11-slim",)
    assert v.dockerfile.read_text() == FLASK_DOCKERFILE  # a copy, byte for byte
    assert "[[smoke]]" not in (app_dir / "app.toml").read_text()


def test_refuses_existing_output_unless_forced(checkout, capsys):
    assert main(["init", str(checkout), "--name", "web"]) == 0
    capsys.readouterr()
    assert main(["init", str(checkout), "--name", "web"]) == 1
    err = capsys.readouterr().err.strip()
    assert "already exists" in err and "--force" in err and "\n" not in err
    (checkout / "bench-app" / "web" / "variants" / "original" / "stale").write_text("x")
    assert main(["init", str(checkout), "--name", "web", "--force"]) == 0
    assert not (checkout / "bench-app" / "web" / "variants" / "original" / "stale").exists()


def test_refuses_a_checkout_without_dockerfile(tmp_path, capsys):
    (tmp_path / "app.py").write_text("print(1)\n")
    assert main(["init", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("bench: error:") and "--dockerfile" in err and "\n" not in err
    assert not (tmp_path / "bench-app").exists()


def test_dockerfile_elsewhere_healthcheck_and_multistage(tmp_path):
    root = tmp_path / "svc"
    _touch(root / "deploy" / "Dockerfile.prod", """\
FROM node:20 AS build
EXPOSE 3000
COPY package.json src/ ./
FROM node:20-slim
COPY --from=build /out /app
EXPOSE 5000/tcp 9229
HEALTHCHECK --interval=5s CMD curl -fsS http://localhost:5000/api/health || exit 1
""", 1)
    _touch(root / "src" / "server.ts", "export {}\n", 2)
    p = plan_init(root, Path("deploy/Dockerfile.prod"))
    assert (p.port.value, p.health.value, p.language) == (5000, "/api/health", "node")
    assert p.edit.value == ("src/server.ts", "// edited by bench")
    p.app_dir.parent.mkdir()
    from bench.init import write_app

    write_app(p)
    (app,) = load_apps(root / "bench-app")
    assert app.variants[0].bases == ("node:20", "node:20-slim")


def test_defaults_when_nothing_is_declared(tmp_path):
    root = tmp_path / "bare"
    _touch(root / "Dockerfile", "FROM golang:1.22\nRUN go build -o /x github.com/some/thing\nCMD [\"/x\"]\n", 1)
    _touch(root / "cmd" / "main.go", "package main\n", 1)
    _touch(root / "web" / "a.html", "<p/>\n", 1)
    p = plan_init(root)
    assert (p.port.value, p.health.value) == (8080, "/")
    assert "assumed" in p.port.why and "assumed" in p.health.why
    # nothing is copied: the first source file by extension order (.go before .html)
    assert p.edit.value == ("cmd/main.go", "// edited by bench") and "copies none" in p.edit.why


def test_no_source_file_means_no_edit_scenario(tmp_path):
    _touch(tmp_path / "c" / "Dockerfile", "FROM nginx:1.27\nCOPY site.conf /etc/nginx/conf.d/\n", 1)
    _touch(tmp_path / "c" / "site.conf", "server {}\n", 1)
    assert main(["init", str(tmp_path / "c")]) == 0
    (app,) = load_apps(tmp_path / "c" / "bench-app")
    assert app.edit is None and app.port == 8080


def test_dockerfile_parsing(tmp_path):
    ins = instructions("FROM a\n# comment\nRUN x \\\n  # inside\n  && y\nEXPOSE ${PORT}\n")
    assert ins == [("FROM", "a"), ("RUN", "x  && y"), ("EXPOSE", "${PORT}")]
    assert guess_port(ins).value == 8080 and "no fixed port" in guess_port(ins).why
    assert guess_health(instructions("FROM a\nHEALTHCHECK CMD wget -qO- http://127.0.0.1:8000\n")).value == "/"
    assert guess_health(instructions("FROM a\nHEALTHCHECK NONE\n")).why == "no HEALTHCHECK; / assumed"
    (tmp_path / "Dockerfile").write_text("just text\n")
    with pytest.raises(UserError, match="FROM"):
        plan_init(tmp_path)


def test_fresh_clone_prefers_code_at_the_top(tmp_path):
    """A fresh clone gives every file the same mtime: the shallowest code file wins."""
    root = tmp_path / "vote"
    _touch(root / "Dockerfile", "FROM python:3.11-slim AS base\nWORKDIR /usr/local/app\nFROM base AS final\n"
           "COPY . .\nEXPOSE 80\n", 7)
    for rel in ("templates/index.html", "static/stylesheets/style.css", "app.py", "lib/helpers.py"):
        _touch(root / rel, "x\n", 7)
    _touch(root / "bench-app" / "old" / "x.py", "x\n", 99)  # bench's own folder is never a target
    p = plan_init(root, force=True)
    assert p.edit.value == ("app.py", "# edited by bench") and p.port.value == 80
