"""Deployment files: the image's layout runs (code, model and knowledge base under one root, no
installed package), and the Dockerfile, docker-compose.yml and Caddyfile agree with the code.
(Docker itself cannot run on the build machines: no daemon, no registry access.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time

import httpx
import pytest
import yaml

from app.cli import build_parser
from app.settings import Settings
from tests.conftest import ROOT, base_env, free_port

APP_SERVICES = ("migrate", "app1", "app2", "worker")


def image_root(tmp_path):
    """The runtime stage's /app: code, model and knowledge base copied, nothing else."""
    root = tmp_path / "app-root"
    for name in ("app", "webhooks", "models", "knowledge_base"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.mark.e2e
def test_the_image_layout_finds_its_model_and_knowledge_base(tmp_path):
    root = image_root(tmp_path)
    env = base_env(f"sqlite:///{tmp_path / 'data' / 'bhxh.db'}", PYTHONPATH=str(root), LOG_FORMAT="json")
    env.pop("KNOWLEDGE_BASE_DIR", None)
    cmd = [sys.executable, "-m", "app.cli"]  # what /usr/local/bin/bhxh-bot runs in the image
    where = subprocess.run([sys.executable, "-c", "import app, webhooks; print(app.__file__, webhooks.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
    assert where.split() == [str(root / "app" / "__init__.py"), str(root / "webhooks" / "__init__.py")]
    validated = subprocess.run(cmd + ["kb", "validate"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert validated.returncode == 0 and str(root / "knowledge_base") in validated.stdout
    assert subprocess.run(cmd + ["db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True).returncode == 0
    port = free_port()
    proc = subprocess.Popen(cmd + ["serve", "--host", "127.0.0.1", "--port", str(port)], cwd=tmp_path,
                            env=env | {"DB_UPGRADE_ON_START": "false"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 90
        ready = None
        while time.time() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert ready is not None and ready.status_code == 200, proc.stdout.read1() if proc.poll() is not None else ready
        assert ready.json()["checks"] == {"database": True, "knowledge_base": True, "model": True}
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_dockerfile_is_multi_stage_non_root_cpu_torch_with_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM \S+ AS (\w+)", text, re.M)) == 2
    assert "--index-url https://download.pytorch.org/whl/cpu torch==2.13.0" in text
    assert re.search(r"^USER bhxh$", text, re.M) and "useradd --system" in text
    assert re.search(r"^HEALTHCHECK .*\n?.*127\.0\.0\.1:8000/healthz", text, re.M)
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.M):
        assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "data"} <= set(ignored)
    # everything the image sets for the service is a real setting
    fields = set(Settings.model_fields)
    env_block = text.split("ENV PATH=", 1)[1].split("USER", 1)[0]
    names = set(re.findall(r"([A-Z_]+)=", env_block)) - {"PATH", "PYTHONPATH", "PYTHONUNBUFFERED", "HF_HUB_OFFLINE",
                                                          "TRANSFORMERS_OFFLINE", "HOST", "PORT"}
    assert names and {n.lower() for n in names} <= fields


def test_compose_runs_postgres_migrations_two_instances_a_worker_and_caddy():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "migrate", "app1", "app2", "worker", "proxy"}
    assert services["db"]["image"].startswith("postgres:") and "healthcheck" in services["db"]
    parser = build_parser()
    fields = set(Settings.model_fields)
    for name in APP_SERVICES:
        svc = services[name]
        command = svc["command"]
        assert command[0] == "bhxh-bot"
        parser.parse_args(command[1:])  # a command the CLI really has
        env = svc["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://") and "@db:5432/" in env["DATABASE_URL"]
        assert {k.lower() for k in env} <= fields
        if name != "migrate":
            assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
            assert env["DB_UPGRADE_ON_START"] == "false"
    assert services["migrate"]["command"][1:] == ["db", "upgrade"]
    assert services["worker"]["command"][1:] == ["worker"]
    assert services["app1"]["environment"]["RUN_WORKERS"] == "false"
    proxy = services["proxy"]
    assert any(v.startswith("./deploy/Caddyfile:") for v in proxy["volumes"])
    caddy = (ROOT / "deploy" / "Caddyfile").read_text()
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddy).group(1).split()
    assert sorted(upstreams) == ["app1:8000", "app2:8000"]
    assert "health_uri /readyz" in caddy and "respond @private 404" in caddy
    # every variable of the example .env is a setting, or one compose itself uses
    example = [line.split("=", 1)[0] for line in (ROOT / "deploy" / "env.example").read_text().splitlines()
               if line and not line.startswith("#")]
    assert {k.lower() for k in example} - {"site_address", "postgres_password"} <= fields
