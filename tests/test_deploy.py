"""Deployment files: the image's layout runs (code, model and knowledge base under one root, no
installed package), the Dockerfile, docker-compose.yml and Caddyfile agree with the code, scripts/image.py
reads apt's and pip's settings right, and no file names a package index or an advisory database.
(The image itself is built and run by scripts/image.py in .ci/run: buildah, no Docker daemon, no registry.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from app.cli import build_parser
from app.settings import Settings
from tests.conftest import ROOT, base_env, free_port

sys.path.insert(0, str(ROOT / "scripts"))
import image  # noqa: E402  (scripts/image.py)

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
    assert re.findall(r"^FROM (\S+) AS (\w+)", text, re.M) == [("${BASE_IMAGE}", "build"), ("${BASE_IMAGE}", "runtime")]
    # the base defaults to the one scripts/image.py debootstraps; Debian bookworm either way (python3 3.11)
    assert re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.M).group(1) == image.BASE_TAG
    assert image.BASE_TAG.endswith(f":{image.RELEASE}-slim") and image.RELEASE == "bookworm"
    assert "apt-get install -y --no-install-recommends python3 python3-venv" in text
    # CPU torch pinned, from whatever index the builder's pip configuration gives, never one named here
    assert re.search(r"^RUN --mount=type=secret,id=pip\.conf pip install torch==2\.13\.0 ", text, re.M)
    assert "PIP_CONFIG_FILE=/run/secrets/pip.conf" in text and "--index-url" not in text
    assert text.count("assert torch.version.cuda is None") == 2
    assert re.search(r"^USER bhxh$", text, re.M) and "useradd --system --uid 10001" in text
    health = re.search(r"^HEALTHCHECK .*\n\s*CMD (\[.*\])$", text, re.M)
    assert health and "127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000')" in health.group(1)
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.M):
        assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "data", "build"} <= set(ignored)  # build/: the cached base tarball
    # everything the image sets for the service is a real setting
    fields = set(Settings.model_fields)
    env_block = text.split(" AS runtime", 1)[1].split("ENV PATH=", 1)[1].split("USER", 1)[0]
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
    # built on Debian's bookworm slim image, pip's settings handed in as the secret the Dockerfile mounts
    build = services["app1"]["build"]
    assert build["args"]["BASE_IMAGE"] == "${BASE_IMAGE:-debian:bookworm-slim}" and build["secrets"] == ["pip.conf"]
    assert compose["secrets"]["pip.conf"]["file"] == "${PIP_CONF:-./pip.conf}"
    assert "--mount=type=secret,id=pip.conf" in (ROOT / "Dockerfile").read_text()
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


# --- no package index or advisory database named in the repository ----------------------------------
# Indexes come from the machine's pip configuration and apt's sources, or a build argument the docs explain
# in words. The names are assembled from pieces so that this file does not name them either.
INDEX_HOSTS = [".".join(parts) for parts in (
    ("pypi", "org"), ("pypi", "python", "org"), ("pythonhosted", "org"), ("download", "pytorch", "org"),
    ("osv", "dev"), ("deb", "debian", "org"), ("security", "debian", "org"), ("snapshot", "debian", "org"),
    ("ftp", "debian", "org"), ("archive", "ubuntu", "com"), ("security", "ubuntu", "com"),
    ("registry-1", "docker", "io"), ("index", "docker", "io"), ("registry", "npmjs", "org"),
    ("conda", "anaconda", "org"), ("repo", "anaconda", "com"), ("proxy", "golang", "org"),
    ("nvd", "nist", "gov"), ("api", "osv", "dev"))]
HOST_PATTERN = re.compile(r"(?<![\w-])(?:[\w-]+\.)*(?:" + "|".join(map(re.escape, INDEX_HOSTS)) + r")(?![\w-])", re.I)


def index_hosts_in(text: str) -> list[str]:
    return HOST_PATTERN.findall(text)


def repository_files() -> list[str]:
    """Tracked files and new ones not ignored (a file is checked before it is committed)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                                capture_output=True, check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "build", "data", "__pycache__", ".pytest_cache", ".ruff_cache"}
        return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]
    return [name for name in listed if name and (ROOT / name).is_file()]


def hosts_by_file(names) -> dict[str, list[str]]:
    found = {}
    for name in names:
        data = (ROOT / name).read_bytes()
        if b"\0" in data[:8192]:  # the model's weights and other binaries
            continue
        hosts = index_hosts_in(data.decode("utf-8", errors="replace"))
        if hosts:
            found[name] = hosts
    return found


def test_the_host_check_finds_index_hosts_in_urls_words_and_subdomains():
    pypi, torch_index, mirror = INDEX_HOSTS[0], INDEX_HOSTS[3], INDEX_HOSTS[5]
    assert index_hosts_in(f"pip install --index-url https://{torch_index}/whl/cpu torch") == [torch_index]
    assert index_hosts_in(f"needs access to {pypi.upper()} or {INDEX_HOSTS[4]}.") == [pypi.upper(), INDEX_HOSTS[4]]
    assert index_hosts_in(f"upload.{pypi} and http://{mirror}/debian") == [f"upload.{pypi}", mirror]
    assert index_hosts_in(f"not{pypi}, {pypi}-mirror.example, the {pypi[:4]} package index, a registry") == []


def test_no_file_names_a_package_index_or_advisory_host():
    names = repository_files()
    assert {"Dockerfile", "scripts/dev.sh", "scripts/image.py", "tests/test_deploy.py"} <= set(names)
    found = hosts_by_file(n for n in names if n != "README.md")
    assert found == {}, f"name the index in words, or take it from the machine's settings: {found}"


def test_the_readme_names_no_package_index_or_advisory_host():
    assert hosts_by_file(["README.md"]) == {}


# --- scripts/image.py: apt's mirror and pip's settings for the build ---------------------------------

def test_the_base_comes_from_the_mirror_and_suites_apt_uses(tmp_path):
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list").write_text("# deb http://old.example/debian buster main\n"
                                      "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm-updates main\n")
    (etc / "sources.list.d" / "debian.sources").write_text(
        "Types: deb deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main contrib\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\nTypes: deb\nURIs: http://other.example/trixie\nSuites: trixie\nComponents: main\n\n"
        "Types: deb\nEnabled: no\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\n")
    (etc / "sources.list.d" / "vendor.sources.disabled-by-farm").write_text(
        "Types: deb\nURIs: http://vendor.example/apt\nSuites: bookworm\nComponents: main\n")
    entries = image.parse_apt_sources(etc)
    assert [e["uri"] for e in entries] == ["http://one.example/debian", "http://mirror.example/debian",
                                           "http://mirror.example/debian-security", "http://other.example/trixie"]
    assert entries[0]["signed_by"] == "/k.gpg"
    debian = image.debian_entries(entries)
    assert [e["uri"] for e in debian] == [e["uri"] for e in entries[:3]]
    assert image.debian_mirror(debian) == "http://mirror.example/debian"
    sources = image.render_sources(debian[1:])
    assert "Suites: bookworm bookworm-updates\nComponents: main contrib\nSigned-By: /usr/share/keyrings/" in sources
    assert "Suites: bookworm-security" in sources and "trixie" not in sources
    with pytest.raises(SystemExit, match="no mirror for Debian bookworm"):
        image.debian_mirror(image.debian_entries(entries[3:]))


def test_pip_inside_the_build_gets_this_machines_settings_with_its_local_paths_mounted(tmp_path):
    (tmp_path / "pypi" / "simple").mkdir(parents=True)
    (tmp_path / "wheels").mkdir()
    (tmp_path / "constraints.txt").write_text("torch<=2.14\n")
    listing = "\n".join([
        f":env:.find-links='{tmp_path}/wheels'",
        ":env:.default-timeout='180'",
        ":env:.config-file='/etc/other-pip.conf'",
        f"global.constraint='{tmp_path}/constraints.txt'",
        f"global.extra-index-url='file://{tmp_path}/pypi/simple https://index.example/simple'",
        "global.find-links='/nowhere/wheels'",
        "install.no-compile='yes'",
        "install.default-timeout='5'",
    ])
    sections = image.parse_pip_config(listing)
    # the environment's PIP_* win over the files' values, as with pip itself
    assert sections == {"global": {"constraint": f"{tmp_path}/constraints.txt", "find-links": f"{tmp_path}/wheels",
                                   "extra-index-url": f"file://{tmp_path}/pypi/simple https://index.example/simple",
                                   "default-timeout": "180"},
                        "install": {"no-compile": "yes"}}
    # a file:// index is mounted with its parent (the simple pages link to ../../files/)
    assert image.local_paths(sections) == [tmp_path / "constraints.txt", tmp_path / "pypi", tmp_path / "wheels"]
    moved = image.relocate(sections, "/run/host-pip")["global"]
    assert moved["extra-index-url"] == f"file:///run/host-pip{tmp_path}/pypi/simple https://index.example/simple"
    assert moved["find-links"] == f"/run/host-pip{tmp_path}/wheels"
    conf = image.render_pip_config(image.relocate(sections, "/run/host-pip"))
    assert conf.startswith("[global]\n") and "\n[install]\nno-compile = yes\n" in conf


def test_the_check_finds_the_service_under_buildah_run_and_stops_its_whole_group():
    """What image.py check relies on, with a stand-in for `buildah run`: a shell whose child is the
    'service'; the check reads the child's uid from /proc and ends the whole process group it started."""
    proc = subprocess.Popen(["sh", "-c", f"{sys.executable} -c 'import time; time.sleep(120)' app.cli serve & wait"],
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not image.service_uids(proc.pid):
            time.sleep(0.1)
        assert image.service_uids(proc.pid) == [os.getuid()]
        (child,) = [pid for pid in image.descendants(proc.pid)
                    if b"app.cli" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    finally:
        image.stop(proc)
    assert proc.returncode is not None
    assert not image.alive(child), "the service outlived the check"
    assert image.alive(os.getpid(), wait=0)
