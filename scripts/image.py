#!/usr/bin/env python3
"""Build the service's image with buildah and check it runs, with no container registry.

    python3 scripts/image.py all      # build, then check (what .ci/run does)
    python3 scripts/image.py base     # only the local Debian base
    python3 scripts/image.py build    # base if missing, then the image
    python3 scripts/image.py check    # run the built image: /readyz, one /api/v1/ask, non-root, HEALTHCHECK

1. Base: a minimal Debian root file system made by debootstrap from the mirror apt already uses on this
   machine (read from apt's sources at run time), with that machine's apt sources and Acquire settings, and
   the docs/man pages/locales left out as in Debian's slim images. It is committed as a local image
   (BASE_TAG) and its tarball cached in build/image/, so the next run does not debootstrap again.
2. Image: `buildah bud --isolation chroot --format docker` of the Dockerfile on that base. pip inside the
   build gets this machine's own pip settings: `pip config list` (its config files and PIP_* variables) is
   written to one file handed in as the build secret "pip.conf", and the local folders and files it names
   (file:// indexes, find-links folders, constraint files, the CA bundle) are mounted read-only under
   /run/host-pip, the settings rewritten to match. No index is named in the repository.
3. Check: the image runs on its SQLite default with `buildah run --isolation chroot` (it shares the host's
   loopback) on a free port; /readyz must answer 200, one question through /api/v1/ask must be answered,
   the service's process must run as a non-root uid, and the image's HEALTHCHECK command must exit 0.

Needs root (apt-get, debootstrap, buildah's storage). buildah and debootstrap are installed with apt-get
when missing. Standard library only.
"""

from __future__ import annotations

import argparse
import ast
import configparser
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "image"
RELEASE = "bookworm"
BASE_TAG = f"localhost/bhxh-debian:{RELEASE}-slim"
IMAGE_TAG = "localhost/bhxh-assistant:latest"
# chroot isolation: the sandbox of these machines refuses the namespaces and cgroups an OCI runtime needs
# (podman run fails on its resource limits); chroot runs the build steps and the service as plain processes
# that share the host's network, so the service is reached on the host's loopback
ISOLATION = "chroot"
# Debian slim: no documentation, manual pages or translations
DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
"""
# apt settings of this machine that the base must share to reach the same mirror the same way
APT_KEYS = ("Acquire::Check-Valid-Until", "Acquire::Check-Date", "Acquire::http::Proxy", "Acquire::https::Proxy",
            "Acquire::Retries")
# pip settings whose values name local files or folders the build must see
# where the build sees them
PIP_MOUNTS = "/run/host-pip"
PIP_PATH_KEYS = ("index-url", "extra-index-url", "find-links", "constraint", "requirement", "cert", "client-cert")


def log(msg: str) -> None:
    print(f"[image {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)


def out(cmd: list[str]) -> str:
    return run(cmd, capture_output=True, text=True).stdout


# --- apt sources ---------------------------------------------------------------------------------

def parse_apt_sources(etc_apt: Path = Path("/etc/apt")) -> list[dict]:
    """Every enabled `deb` entry of apt's sources (deb822 *.sources and one-line *.list files), as
    {"uri", "suites", "components", "signed_by"}; files apt ignores (other suffixes) are skipped."""
    files = []
    if (etc_apt / "sources.list").is_file():
        files.append(etc_apt / "sources.list")
    if (etc_apt / "sources.list.d").is_dir():
        files += sorted(p for p in (etc_apt / "sources.list.d").iterdir() if p.suffix in (".list", ".sources"))
    entries = []
    for path in files:
        text = path.read_text()
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                key = None
                for line in stanza.splitlines():
                    if not line.strip() or line.lstrip().startswith("#"):
                        continue
                    if line[0] in " \t" and key:
                        fields[key] += " " + line.strip()
                        continue
                    key, _, value = line.partition(":")
                    key = key.strip().lower()
                    fields[key] = value.strip()
                if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
                    continue
                for uri in fields.get("uris", "").split():
                    entries.append({"uri": uri, "suites": fields.get("suites", "").split(),
                                    "components": fields.get("components", "").split(),
                                    "signed_by": fields.get("signed-by", "")})
        else:
            for line in text.splitlines():
                line = line.split("#", 1)[0].strip()
                m = re.match(r"deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$", line)
                if not m:
                    continue
                options = dict(o.split("=", 1) for o in (m.group(1) or "").split() if "=" in o)
                entries.append({"uri": m.group(2), "suites": [m.group(3)], "components": m.group(4).split(),
                                "signed_by": options.get("signed-by", "")})
    return entries


def debian_entries(entries: list[dict], release: str = RELEASE) -> list[dict]:
    """The entries for this Debian release (bookworm, bookworm-updates, bookworm-security...)."""
    keep = []
    for e in entries:
        suites = [s for s in e["suites"] if s == release or s.startswith(release + "-")]
        if suites:
            keep.append(e | {"suites": suites})
    return keep


def debian_mirror(entries: list[dict], release: str = RELEASE) -> str:
    for e in entries:
        if release in e["suites"]:
            return e["uri"]
    raise SystemExit(f"apt's sources name no mirror for Debian {release}: debootstrap has nowhere to fetch from")


def render_sources(entries: list[dict]) -> str:
    stanzas = []
    for e in entries:
        lines = ["Types: deb", f"URIs: {e['uri']}", f"Suites: {' '.join(e['suites'])}",
                 f"Components: {' '.join(e['components']) or 'main'}"]
        if e["signed_by"]:
            lines.append(f"Signed-By: {e['signed_by']}")
        stanzas.append("\n".join(lines) + "\n")
    return "\n".join(stanzas)


def apt_settings() -> str:
    """This machine's apt Acquire settings that decide how the mirror is reached, as an apt.conf snippet."""
    dump = out(["apt-config", "dump"])
    lines = []
    for line in dump.splitlines():
        key, _, value = line.partition(" ")
        if key in APT_KEYS:
            lines.append(f"{key} {value}")
    return "\n".join(lines) + ("\n" if lines else "")


# --- pip settings ------------------------------------------------------------------------------

def parse_pip_config(listing: str) -> dict[str, dict[str, str]]:
    """`pip config list` output -> {section: {key: value}}. Environment variables (PIP_*, listed as
    `:env:.key`) override the files' values of the same key and go to [global]."""
    sections: dict[str, dict[str, str]] = {}
    env: dict[str, str] = {}
    for line in listing.splitlines():
        name, sep, raw = line.partition("=")
        if not sep or "." not in name:
            continue
        section, _, key = name.rpartition(".")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        if section == ":env:":
            if key != "config-file":  # PIP_CONFIG_FILE: that file's values are listed already
                env[key] = str(value)
        else:
            sections.setdefault(section, {})[key] = str(value)
    if env:
        sections.setdefault("global", {}).update(env)
        for section in sections.values():
            if section is not sections["global"]:
                for key in env:
                    section.pop(key, None)
    return sections


def render_pip_config(sections: dict[str, dict[str, str]]) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    for section, values in sections.items():
        parser[section] = values
    lines = []
    for section in parser.sections():
        lines.append(f"[{section}]")
        lines += [f"{k} = {v}" for k, v in parser[section].items()]
        lines.append("")
    return "\n".join(lines)


def _local_path(key: str, item: str) -> Path | None:
    """The file or folder on this machine a pip setting's item refers to, if any. A file:// index is taken
    with its parent folder: simple-index pages link to ../../files/ beside it."""
    if item.startswith("file://"):
        path = Path(urllib.parse.unquote(urllib.parse.urlparse(item).path))
        return path.parent if key in ("index-url", "extra-index-url") else path
    return Path(item) if item.startswith("/") else None


def local_paths(sections: dict[str, dict[str, str]]) -> list[Path]:
    """Existing files and folders the pip settings refer to, outermost only (one mount covers the rest)."""
    found: set[Path] = set()
    for values in sections.values():
        for key in PIP_PATH_KEYS:
            for item in values.get(key, "").split():
                path = _local_path(key, item)
                if path is not None and path.exists():
                    found.add(path)
    return sorted(p for p in found if not any(q != p and q in p.parents for q in found))


def relocate(sections: dict[str, dict[str, str]], prefix: str) -> dict[str, dict[str, str]]:
    """The same settings with every local path moved under `prefix`, where the build mounts them: mounted at
    their own paths they would cover the image's files (the host's CA bundle over the one ca-certificates
    writes in the build stage)."""
    moved: dict[str, dict[str, str]] = {}
    for section, values in sections.items():
        moved[section] = dict(values)
        for key in PIP_PATH_KEYS:
            if key not in values:
                continue
            items = []
            for item in values[key].split():
                path = _local_path(key, item)
                if path is not None and path.exists():
                    item = ("file://" + prefix + urllib.parse.urlparse(item).path if item.startswith("file://")
                            else prefix + item)
                items.append(item)
            moved[section][key] = " ".join(items)
    return moved


def pip_settings(python: str, prefix: str = PIP_MOUNTS) -> tuple[str, list[Path]]:
    """This machine's pip settings for the build, rewritten for the mounts, and the paths to mount."""
    listing = run([python, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    sections = parse_pip_config(listing)
    return render_pip_config(relocate(sections, prefix)), local_paths(sections)


# --- tools -------------------------------------------------------------------------------------

def ensure_tools() -> None:
    missing = [pkg for pkg, exe in (("buildah", "buildah"), ("debootstrap", "debootstrap")) if not shutil.which(exe)]
    if not missing:
        return
    log(f"installing {' '.join(missing)} with apt-get")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=900"]
    run(sudo + ["apt-get", *lock, "update", "-qq"], env=env)
    run(sudo + ["apt-get", *lock, "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)


def image_exists(tag: str) -> bool:
    return subprocess.run(["buildah", "inspect", "--type", "image", tag], capture_output=True).returncode == 0


# --- base --------------------------------------------------------------------------------------

def make_base(rebuild: bool = False) -> None:
    if image_exists(BASE_TAG) and not rebuild:
        log(f"base {BASE_TAG} already in buildah's storage")
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"debian-{RELEASE}-slim.tar"
    if rebuild or not tarball.exists():
        entries = debian_entries(parse_apt_sources())
        mirror = debian_mirror(entries)
        rootfs = Path(tempfile.mkdtemp(prefix="rootfs-", dir=CACHE))
        try:
            log(f"debootstrap --variant=minbase {RELEASE} from apt's own mirror {mirror}")
            started = time.monotonic()
            # the excludes are in place before the first package is unpacked
            (rootfs / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True)
            (rootfs / "etc/dpkg/dpkg.cfg.d/slim").write_text(DPKG_EXCLUDES)
            run(["debootstrap", "--variant=minbase", RELEASE, str(rootfs), mirror], stdout=subprocess.DEVNULL)
            log(f"debootstrap took {time.monotonic() - started:.0f} s")
            (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
            (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(render_sources(entries))
            # as in Debian's slim images: no translated package descriptions
            (rootfs / "etc/apt/apt.conf.d/90slim").write_text('Acquire::Languages "none";\n')
            settings = apt_settings()
            if settings:
                (rootfs / "etc/apt/apt.conf.d/90host-acquire").write_text(settings)
            # what Debian's slim images leave out (the copyright files stay), and apt's caches
            run(["find", str(rootfs / "usr/share/doc"), "-mindepth", "1", "-not", "-type", "d",
                 "-not", "-name", "copyright", "-delete"])
            for junk in ("usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian",
                         "var/cache/apt", "var/lib/apt/lists", "var/log"):
                run(["find", str(rootfs / junk), "-mindepth", "1", "-not", "-type", "d", "-delete"],
                    stderr=subprocess.DEVNULL, check=False)
            (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
            (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
            partial = tarball.with_suffix(".tar.partial")
            run(["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(partial), "."])
            partial.replace(tarball)
        finally:
            # debootstrap mounts /proc and /sys inside the target: an interrupted run must not leave them
            # there, nor have rmtree walk into them
            mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
            for mount in sorted((m for m in mounts if m.startswith(f"{rootfs}/")), reverse=True):
                subprocess.run(["umount", "--lazy", mount], check=False)
            shutil.rmtree(rootfs, ignore_errors=True)
    log(f"importing {tarball.relative_to(ROOT)} as {BASE_TAG}")
    ctr = out(["buildah", "from", "--pull=never", "scratch"]).strip()
    try:
        run(["buildah", "add", ctr, str(tarball), "/"], stdout=subprocess.DEVNULL)
        run(["buildah", "config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "--cmd", "/bin/bash", "--os", "linux", "--arch", "amd64",
             "--label", f"org.opencontainers.image.description=Debian {RELEASE} minbase, debootstrapped locally", ctr])
        run(["buildah", "commit", "--quiet", ctr, BASE_TAG], stdout=subprocess.DEVNULL)
    finally:
        subprocess.run(["buildah", "rm", ctr], capture_output=True)


# --- image -------------------------------------------------------------------------------------

def build_image(python: str) -> None:
    conf, paths = pip_settings(python)
    with tempfile.TemporaryDirectory(prefix="bhxh-pip-") as tmp:
        conf_file = Path(tmp) / "pip.conf"
        conf_file.write_text(conf)
        cmd = ["buildah", "bud", "--isolation", ISOLATION,
               # HEALTHCHECK exists only in the Docker format; OCI would drop it
               "--format", "docker",
               # the base is local: never ask a registry for it
               "--pull=never",
               # keep each step's layer: an unchanged pyproject.toml reuses the installed dependencies
               "--layers",
               # a failed step leaves no working container behind
               "--force-rm",
               "--build-arg", f"BASE_IMAGE={BASE_TAG}",
               "--secret", f"id=pip.conf,src={conf_file}"]
        for path in paths:
            cmd += ["--volume", f"{path}:{PIP_MOUNTS}{path}:ro"]
        cmd += ["--tag", IMAGE_TAG, "--file", str(ROOT / "Dockerfile"), str(ROOT)]
        log("pip settings handed to the build: " + (", ".join(
            f"{line.split(' = ')[0]}" for line in conf.splitlines() if " = " in line) or "none") +
            f"; mounted read-only under {PIP_MOUNTS}: {', '.join(map(str, paths)) or 'nothing'}")
        started = time.monotonic()
        run(cmd)
        log(f"buildah bud took {time.monotonic() - started:.0f} s")
    log(f"{IMAGE_TAG}: {image_size(IMAGE_TAG)}")


def image_size(tag: str) -> str:
    return out(["buildah", "images", "--format", "{{.Size}}", tag]).strip()


# --- check -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def service_uids(pid: int) -> list[int]:
    """Real uids of the processes under `buildah run` whose command line runs the service (app.cli serve)."""
    uids = []
    for child in descendants(pid):
        try:
            cmdline = (Path("/proc") / str(child) / "cmdline").read_bytes().split(b"\0")
            status = (Path("/proc") / str(child) / "status").read_text()
        except OSError:
            continue
        if b"app.cli" in cmdline and b"serve" in cmdline:
            uids.append(int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1)))
    return uids


def http(method: str, url: str, body: dict | None = None, token: str | None = None, timeout: float = 30):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read() or b"null")


def stop(proc: subprocess.Popen) -> None:
    """End the process group this script started for `buildah run` (and the service inside it)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 15)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def check_image(ready_deadline: float = 600) -> None:
    info = json.loads(out(["buildah", "inspect", "--type", "image", IMAGE_TAG]))
    config = info["Docker"]["config"]
    user = config.get("User") or "root"
    assert user not in ("root", "0") and not user.startswith(("0:", "root:")), f"the image runs as {user!r}"
    health = (config.get("Healthcheck") or {}).get("Test") or []
    assert health and health[0] in ("CMD", "CMD-SHELL"), f"the image has no HEALTHCHECK (format docker?): {health}"
    command = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
    assert command, "the image has no command"
    log(f"image config: User={user}, Cmd={command}, Healthcheck={health}")

    port, token = free_port(), secrets.token_urlsafe(24)
    # the service on the image's own settings (SQLite in /data), only the loopback and a free port changed
    env = {"HOST": "127.0.0.1", "PORT": str(port), "ADMIN_API_TOKEN": token}
    env_args = [a for k, v in env.items() for a in ("--env", f"{k}={v}")]
    name = f"bhxh-check-{os.getpid()}"
    run(["buildah", "from", "--pull=never", "--name", name, IMAGE_TAG], stdout=subprocess.DEVNULL)
    proc, service_pids = None, []
    logfile = tempfile.TemporaryFile()
    try:
        uid = out(["buildah", "run", "--isolation", ISOLATION, name, "--", "id", "-u"]).strip()
        assert uid.isdigit() and int(uid) != 0, f"commands in the container run as uid {uid}"
        log(f"the container's user has uid {uid}")
        proc = subprocess.Popen(["buildah", "run", "--isolation", ISOLATION, *env_args, name, "--", *command],
                                stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        ready = None
        while time.monotonic() - started < ready_deadline:
            if proc.poll() is not None:
                break
            try:
                ready = http("GET", base + "/readyz", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(1)
        if ready is None or ready[0] != 200:
            logfile.seek(0)
            sys.stderr.write(logfile.read().decode(errors="replace")[-4000:])
            raise AssertionError(f"no 200 from /readyz within {ready_deadline:.0f} s "
                                 f"(exit code {proc.poll()}): {ready}")
        assert ready[1]["checks"] == {"database": True, "knowledge_base": True, "model": True}, ready
        log(f"/readyz 200 after {time.monotonic() - started:.0f} s: {ready[1]['checks']}")

        uids = service_uids(proc.pid)
        assert uids and all(u != 0 for u in uids), f"service processes' uids: {uids}"
        log(f"the service runs as uid {uids[0]}")
        service_pids = descendants(proc.pid)

        try:
            http("POST", base + "/api/v1/ask", {"text": "bhxh tự nguyện là gì"})
            raise AssertionError("/api/v1/ask answered without the admin token")
        except urllib.error.HTTPError as e:
            assert e.code == 401, e.code
        status, answer = http("POST", base + "/api/v1/ask", {"text": "bhxh tự nguyện là gì"}, token=token, timeout=120)
        assert status == 200 and answer["outcome"] == "answered" and answer["entry_id"] and answer["reply"], answer
        log(f"/api/v1/ask answered with {answer['entry_id']} (score {answer['score']})")

        probe = health[1:] if health[0] == "CMD" else ["/bin/sh", "-c", health[1]]
        result = subprocess.run(["buildah", "run", "--isolation", ISOLATION, *env_args, name, "--", *probe],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"HEALTHCHECK exited {result.returncode}: {result.stderr[-2000:]}"
        # and it does fail when nothing answers: a healthcheck that cannot fail checks nothing
        dead = subprocess.run(["buildah", "run", "--isolation", ISOLATION, "--env", f"PORT={free_port()}", name,
                               "--", *probe], capture_output=True, text=True, timeout=120)
        assert dead.returncode != 0, "HEALTHCHECK passes with no service on its port"
        log("HEALTHCHECK exits 0 against the service (and non-zero with nothing on its port)")
    finally:
        if proc is not None:
            stop(proc)
        subprocess.run(["buildah", "rm", name], capture_output=True)
        logfile.close()
    left = [pid for pid in service_pids if alive(pid)]
    for pid in left:  # ours: started under `buildah run` above
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes of the service outlived `buildah run`: {left}"
    log("image check passed; the service and `buildah run` have exited, the working container is removed")


def alive(pid: int, wait: float = 30) -> bool:
    """Whether the process is still running after up to `wait` seconds (a zombie counts as ended)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state in ("Z", "X"):
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["base", "build", "check", "all"], nargs="?", default="all")
    parser.add_argument("--rebuild-base", action="store_true", help="debootstrap the base again, ignoring the cache")
    parser.add_argument("--python", default=sys.executable,
                        help="the Python whose pip configuration the build uses (default: this one)")
    args = parser.parse_args(argv)
    # a CI runner's SIGTERM or a closed terminal still runs the clean-ups (`finally`): the service stopped,
    # the working container removed, an unfinished base deleted
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    started = time.monotonic()
    ensure_tools()
    if args.action in ("base", "build", "all"):
        make_base(args.rebuild_base)
    if args.action in ("build", "all"):
        build_image(args.python)
    if args.action in ("check", "all"):
        check_image()
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
