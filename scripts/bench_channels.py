"""Load test of the channels: signed webhooks at a target rate through the real app and the fake platforms.

    python scripts/bench_channels.py [--rate 200] [--seconds 60] [--redeliver 0.05] [--database-url URL]
                                     [--instances 1] [--workers 1] [--slow-citizen-seconds 8]
                                     [--app http://127.0.0.1:8000 --fake http://127.0.0.1:9000]

Without --app it starts the fake platforms (their own process), `--instances` web processes
(`bhxh-bot serve`, SHARED_DATABASE=true when more than one) and `--workers` `bhxh-bot worker`
processes, on SQLite in a temporary directory unless --database-url is given. Every message comes
from a different citizen, half on Zalo and half on Messenger; webhooks go to the instances in turn,
and a share is delivered twice (to the next instance), as the platforms do on retries. The webhooks
are signed in advance and sent over a light keep-alive client, so the load generator costs little
of the machine it shares with the app. Prints ack latency p50/p99 (from the moment each webhook was
due), end-to-end latency (webhook due to reply received by the fake platform) p50/p99, reply
throughput, the CPU each kind of process used per message, and the counts of lost and duplicated
replies. All traffic stays on 127.0.0.1; the run is bounded by --seconds and --drain.

With --slow-citizen-seconds S one more citizen writes every 2 s throughout the run, and the fake
platforms take S seconds over each send to that citizen: the figures above are then the other
citizens' (head-of-line blocking would show in their end-to-end p99).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import fake_platforms as fp  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc); NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def questions() -> list[str]:
    from app.knowledge import load_directory

    kb, _ = load_directory(ROOT / "knowledge_base")
    return [q for e in kb.entries.values() for q in e.questions]


def app_env(fake_url: str, database_url: str, workers: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url, HF_HUB_OFFLINE="1", LOG_LEVEL="WARNING",
        ZALO_APP_ID=fp.ZALO_APP_ID, ZALO_OA_SECRET_KEY=fp.ZALO_OA_SECRET_KEY, ZALO_APP_SECRET=fp.ZALO_APP_SECRET,
        ZALO_ACCESS_TOKEN="zalo-at-0", ZALO_REFRESH_TOKEN="zalo-rt-0", ZALO_API_BASE=fake_url, ZALO_OAUTH_BASE=fake_url,
        FB_APP_ID=fp.FB_APP_ID, FB_APP_SECRET=fp.FB_APP_SECRET, FB_PAGE_ACCESS_TOKEN=fp.FB_PAGE_ACCESS_TOKEN,
        FB_GRAPH_BASE=fake_url, FB_GRAPH_VERSION=fp.FB_GRAPH_VERSION,
        RUN_WORKERS="false" if workers else "true",
    )
    return env


BIN = Path(sys.executable).parent / "bhxh-bot"


def start_app(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    proc = subprocess.Popen([str(BIN), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=open(log_path, "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("app exited:\n" + log_path.read_text())
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("app did not start")


def wait_healthy(url: str, proc: subprocess.Popen) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url} exited")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not start")


CONNECTIONS = 64  # webhooks in flight at once, as a platform's delivery workers would hold


class Connections:
    """Keep-alive HTTP/1.1 POSTs over asyncio streams, for the load generator only.

    The generator shares the machine with the system under test, so it must cost little: httpx
    spends a few milliseconds of CPU per request, about as much as the app's whole answer, which
    would make the benchmark measure itself. The requests are built in advance; a POST here writes
    the bytes and reads the status line, headers and body (Content-Length; the app never chunks
    these replies). A connection the server closed is opened again and the request resent."""

    def __init__(self, url: str, size: int):
        hostport = url.split("://", 1)[1].rstrip("/")
        host, _, port = hostport.partition(":")
        self.host, self.port = host, int(port or 80)
        self.idle: asyncio.Queue = asyncio.Queue()
        for _ in range(size):
            self.idle.put_nowait(None)  # opened on first use

    async def post(self, request: bytes) -> int:
        conn = await self.idle.get()
        try:
            for attempt in range(2):
                if conn is None:
                    conn = await asyncio.open_connection(self.host, self.port)
                reader, writer = conn
                try:
                    writer.write(request)
                    status_line = await reader.readline()
                    if not status_line:
                        raise ConnectionResetError("closed by the server")
                    length = 0
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    if length:
                        await reader.readexactly(length)
                    return int(status_line.split()[1])
                except (ConnectionError, asyncio.IncompleteReadError):
                    writer.close()
                    conn = None
                    if attempt:
                        raise
            raise AssertionError("unreachable")
        finally:
            self.idle.put_nowait(conn)


def http_request(url: str, raw: bytes, headers: dict[str, str]) -> bytes:
    hostport, _, path = url.split("://", 1)[1].partition("/")
    lines = [f"POST /{path} HTTP/1.1", f"Host: {hostport}", f"Content-Length: {len(raw)}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
    if not any(k.lower() == "content-type" for k in headers):
        lines.append("Content-Type: application/json")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


async def send_all(app_urls: list[str], rate: float, seconds: float, redeliver: float, texts: list[str],
                   run_id: str, slow_user: str | None = None):
    """Webhooks at `rate` per second, every message from another citizen, spread over the app
    instances in turn; a `redeliver` share is sent twice, the second time to the next instance."""
    rng = random.Random(7)
    total = int(rate * seconds)
    acks: list[float] = []
    statuses: dict[int, int] = defaultdict(int)
    sent_at: dict[str, float] = {}
    jobs: list[tuple[str, list[tuple[int, bytes]]]] = []  # citizen, (instance, request) to send at once
    for i in range(total):
        user = f"{run_id}{i:06d}"
        text = rng.choice(texts)
        if i % 2 == 0:
            raw, headers = fp.zalo_signed(fp.zalo_user_text(text, user, msg_id=f"bench-{user}"))
            path = "/webhooks/zalo"
        else:
            raw, headers = fp.messenger_signed(fp.messenger_text(text, user, mid=f"m_bench-{user}"))
            path = "/webhooks/facebook"
        first = i % len(app_urls)
        sends = [(first, http_request(app_urls[first] + path, raw, headers))]
        if rng.random() < redeliver:  # the platform retries: the same event again
            again = (i + 1) % len(app_urls)
            sends.append((again, http_request(app_urls[again] + path, raw, headers)))
        jobs.append((user, sends))
        if slow_user and i % max(1, int(rate * 2)) == 0:  # the slow citizen writes every 2 s
            raw, headers = fp.messenger_signed(fp.messenger_text(text, slow_user, mid=f"m_bench-{slow_user}-{i}"))
            jobs.append((slow_user, [(0, http_request(app_urls[0] + "/webhooks/facebook", raw, headers))]))
    pools = [Connections(url, CONNECTIONS) for url in app_urls]

    async def post(pool: Connections, request: bytes, due: float) -> None:
        # latency counts from the moment the platform would have sent the webhook, so waiting for
        # a free connection (the app being slow) counts against the app
        try:
            statuses[await pool.post(request)] += 1
        except (OSError, ValueError, IndexError):
            statuses[0] += 1
        acks.append((time.perf_counter() - due) * 1000)

    tasks = []
    start = time.perf_counter()
    for n, (user, sends) in enumerate(jobs):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if user != slow_user:
            sent_at[user] = time.time()
        tasks.extend(asyncio.create_task(post(pools[k], request, due)) for k, request in sends)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return acks, statuses, sent_at, elapsed


def collect(fake_url: str, sent_at: dict[str, float], drain: float) -> tuple[dict[str, list[dict]], float]:
    deadline = time.time() + drain
    replies: dict[str, list[dict]] = defaultdict(list)
    since = 0
    while True:
        batch = httpx.get(fake_url + "/_fake/sent", params={"since": since}, timeout=30).json()
        for m in batch:
            since = max(since, int(m.get("seq", 0)) + 1)
            if m["recipient"] in sent_at:
                replies[m["recipient"]].append(m)
        if len(replies) >= len(sent_at) or time.time() > deadline:
            break
        time.sleep(0.5)
    time.sleep(2.0)  # late duplicates would show up here
    for m in httpx.get(fake_url + "/_fake/sent", params={"since": since}, timeout=30).json():
        if m["recipient"] in sent_at:
            replies[m["recipient"]].append(m)
    return replies, time.time()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=200.0, help="webhooks per second")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--redeliver", type=float, default=0.05, help="share of webhooks delivered twice")
    ap.add_argument("--drain", type=float, default=300.0, help="seconds to wait for the last replies")
    ap.add_argument("--database-url", default="")
    ap.add_argument("--workers", type=int, default=1,
                    help="separate `bhxh-bot worker` processes (0: the workers run inside the web process)")
    ap.add_argument("--instances", type=int, default=1,
                    help="web processes on the one database (SHARED_DATABASE=true when more than one); "
                         "webhooks go to each in turn, and a redelivery to the next one")
    ap.add_argument("--slow-citizen-seconds", type=float, default=0.0,
                    help="one more citizen writes every 2 s and each send to them takes this long at the fake")
    ap.add_argument("--app", default="", help="an app already running against --fake")
    ap.add_argument("--fake", default="")
    args = ap.parse_args()

    texts = questions()
    run_id = f"{random.randrange(10**6):06d}"
    slow_user = f"slow{run_id}" if args.slow_citizen_seconds > 0 else None
    fake_proc = None
    webs: list[subprocess.Popen] = []
    workers: list[subprocess.Popen] = []
    tmp = tempfile.TemporaryDirectory()
    try:
        if args.app:
            app_urls, fake_url = [args.app.rstrip("/")], args.fake.rstrip("/")
        else:
            # the fake platforms run in their own process, so that the load generator here and the
            # fake's handling of the replies do not share one interpreter lock
            with __import__("socket").socket() as s:
                s.bind(("127.0.0.1", 0))
                fake_port = s.getsockname()[1]
            fake_proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "fake_platforms.py"), "serve",
                                          "--port", str(fake_port), "--zalo-rps", "0", "--messenger-rps", "0"],
                                         cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            fake_url = f"http://127.0.0.1:{fake_port}"
            wait_healthy(fake_url + "/_fake/sent", fake_proc)
        if slow_user:
            httpx.post(fake_url + "/_fake/config", json={"slow_recipients": {slow_user: args.slow_citizen_seconds}},
                       timeout=10).raise_for_status()
            print(f"one citizen ({slow_user}) writes every 2 s; each send to them takes {args.slow_citizen_seconds:g} s")
        if not args.app:
            database_url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
            env = app_env(fake_url, database_url, args.workers)
            if args.instances > 1:
                env["SHARED_DATABASE"] = "true"
            app_urls = []
            for i in range(args.instances):
                with __import__("socket").socket() as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
                webs.append(start_app(env, port, Path(tmp.name) / f"app{i}.log"))
                app_urls.append(f"http://127.0.0.1:{port}")
            for i in range(args.workers):
                workers.append(subprocess.Popen([str(BIN), "worker"], env=env, cwd=ROOT,
                                                stdout=open(Path(tmp.name) / f"worker{i}.log", "w"),  # noqa: SIM115
                                                stderr=subprocess.STDOUT))
            time.sleep(3 if workers else 0)  # workers load the engine
        print(f"workers: {args.workers or 'in the web process'}")
        print(f"sending {int(args.rate * args.seconds)} webhooks at {args.rate:.0f}/s for {args.seconds:.0f} s "
              f"({args.redeliver:.0%} delivered twice) to {', '.join(app_urls)}")
        procs = {"web": webs, "workers": workers}
        cpu_before = {k: sum(cpu_seconds(p.pid) for p in ps) for k, ps in procs.items()}
        acks, statuses, sent_at, elapsed = asyncio.run(
            send_all(app_urls, args.rate, args.seconds, args.redeliver, texts, run_id, slow_user))
        replies, finished = collect(fake_url, sent_at, args.drain)
        cpu_used = {k: sum(cpu_seconds(p.pid) for p in ps) - cpu_before[k] for k, ps in procs.items()}
    finally:
        for p in [*workers, *webs]:
            p.terminate()
            p.wait(timeout=15)
        if fake_proc is not None:
            fake_proc.terminate()
            fake_proc.wait(timeout=15)
        tmp.cleanup()

    lost = [u for u in sent_at if u not in replies]
    duplicated = [u for u, ms in replies.items() if len({m["text"] for m in ms}) < len(ms)]
    e2e = [(min(m["at"] for m in ms) - sent_at[u]) * 1000 for u, ms in replies.items()]
    last = max((max(m["at"] for m in ms) for ms in replies.values()), default=finished)
    first = min(sent_at.values())
    print(f"webhooks sent: {len(acks)} in {elapsed:.1f} s ({len(acks) / elapsed:.0f}/s); statuses {dict(statuses)}")
    print(f"ack latency: p50 {percentile(acks, 0.5):.1f} ms, p99 {percentile(acks, 0.99):.1f} ms, "
          f"max {max(acks):.1f} ms")
    if e2e:
        print(f"end-to-end latency (webhook to reply at the platform): p50 {statistics.median(e2e):.0f} ms, "
              f"p99 {percentile(e2e, 0.99):.0f} ms")
    print(f"replies: {len(replies)} citizens answered; throughput {len(replies) / max(last - first, 1e-9):.0f} "
          f"answered messages/s over {last - first:.1f} s")
    if webs and sent_at:
        print("CPU per message: " + ", ".join(f"{k} {1000 * v / len(sent_at):.1f} ms" for k, v in cpu_used.items() if v == v))
    print(f"lost: {len(lost)}; duplicated: {len(duplicated)}")
    return 0 if not lost and not duplicated else 1


if __name__ == "__main__":
    raise SystemExit(main())
