"""The semantic model keeps learning (app/retrain.py, docs/model-retraining.md), on SQLite and PostgreSQL:
a console publish that adds a question with a new word queues a training; the worker trains it in a
separate process; both web instances answer with the new model without a restart. A training that fails
(a command exiting non-zero, a time limit) leaves the serving model alone and shows the failure; a
training abandoned by a killed trainer is taken back after its lease by another process.

Trainings use a tiny configuration (one part of 16 dimensions, one epoch: a few seconds)."""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import BIN, ROOT, AppServer, base_env
from tests.console_support import ADMIN, ConsoleClient, add_default_users
from tests.test_channels import wait_for

# real processes: web instances, a worker, a training subprocess
pytestmark = pytest.mark.e2e

TOKEN = "test-admin-token"
TINY = "--epochs 8 --parts 1 --dim 32"  # small and quick, yet learns the new word beside the corpus (with the word-pair
# floor the new questions' pairs, each in one text, are left out: four epochs were too few to learn the word alone)
ENTRY = "chung-dong-online"
NEW_WORD = "kuxipay"  # a payment app the knowledge base has never named
NEW_QUESTIONS = [f"đóng bhyt bằng ví {NEW_WORD} được không", f"thanh toán bảo hiểm qua {NEW_WORD}",
                 f"nộp tiền bhxh tự nguyện trên app {NEW_WORD}"]
MESSAGE = f"dùng {NEW_WORD} được ko"  # no word of it but the new one says what it is about


def env(**extra: str) -> dict[str, str]:
    return dict(ADMIN_API_TOKEN=TOKEN, KB_POLL_SECONDS="0.3", MODEL_RETRAIN="true", MODEL_TRAIN_ARGS=TINY, **extra)


def ask(app: AppServer, text: str = MESSAGE) -> dict:
    r = httpx.post(app.url + "/api/v1/ask", json={"text": text}, headers={"Authorization": f"Bearer {TOKEN}"},
                   timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def model(app: AppServer) -> dict:
    r = httpx.get(app.url + "/readyz", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["model"]


def status(cli, **env_: str) -> dict:
    return json.loads(cli("model", "status", "--json", env=env_).stdout)


def newest(cli) -> dict:
    rows = status(cli)["trainings"]
    return rows[0] if rows else {}


def publish_new_questions(admin: ConsoleClient) -> None:
    """The admin adds the questions in the console's editor and publishes them."""
    from app.console.kbedit import to_form

    content = yaml.safe_load((ROOT / "knowledge_base" / "entries" / f"{ENTRY}.yaml").read_text(encoding="utf-8"))
    form = to_form(content)
    form["questions"] += "\n" + "\n".join(NEW_QUESTIONS)
    r = admin.post(f"/console/kb/{ENTRY}", data=dict(form, action="publish"))
    assert r.status_code == 303, r.text
    assert "published" in r.headers["location"]


def kb_page(admin: ConsoleClient) -> str:
    page = admin.get("/console/kb")
    assert page.status_code == 200, page.text
    return page.text


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_a_console_publish_is_learned_in_the_background_and_both_instances_answer_with_it(
        database_url, tmp_path, cli):
    add_default_users(cli)
    # two web instances that follow the model but train nothing; the worker trains (the docker-compose layout)
    web = env(MODEL_TRAINER="false", RUN_WORKERS="false", SHARED_DATABASE="true")
    console = AppServer(database_url, tmp_path / "console.log", **web).start()
    other = AppServer(database_url, tmp_path / "other.log", **web).start()
    worker = None
    try:
        assert model(console)["source"] == model(other)["source"] == "shipped"
        admin = ConsoleClient(console.url)
        admin.login(*ADMIN)
        assert "bản đi kèm phần mềm" in kb_page(admin)

        publish_new_questions(admin)
        assert wait_for(lambda: "Đang chờ học lại" in kb_page(admin), timeout=60, interval=0.3), kb_page(admin)
        queued = newest(cli)
        assert queued["status"] == "queued" and queued["reason"] == "kho kiến thức thay đổi", queued
        # the question is published, the old model does not know its word: the message goes to staff
        before = ask(other)
        assert before["outcome"] != "answered", before

        worker = subprocess.Popen([str(BIN), "worker"], cwd=ROOT, env=base_env(database_url, **env()),
                                  stdout=open(tmp_path / "worker.log", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
        for app in (console, other):  # neither restarts
            assert wait_for(lambda app=app: model(app).get("id") == queued["id"], timeout=180, interval=0.3), \
                (model(app), status(cli), (tmp_path / "worker.log").read_text()[-3000:])
            after = ask(app)
            assert after["outcome"] == "answered" and after["entry_id"] == ENTRY, after
            assert after["score"] > before["score"]
        trained = newest(cli)
        assert trained["status"] == "ready" and trained["id"] == queued["id"] and trained["size"] > 10_000
        assert model(other)["kb_revision"] == trained["kb_revision"]
        page = kb_page(admin)
        assert f"đã học phiên bản {trained['kb_revision'][:8]}" in page and "(Giờ Việt Nam)" in page
        admin.close()
    finally:
        if worker is not None:
            stop(worker)
        other.stop()
        console.stop()
    assert "now answering with semantic model" in (tmp_path / "other.log").read_text()
    worker_log = (tmp_path / "worker.log").read_text()
    assert f"semantic model {queued['id']} trained" in worker_log  # the worker trained it
    assert f"now answering with semantic model {queued['id']}" in worker_log  # and answers webhooks with it


def test_a_failed_training_leaves_the_model_serving_and_shows_why(database_url, tmp_path, cli):
    add_default_users(cli)
    cli("kb", "import")
    # an earlier training, ready: the model the instance starts with
    cli("model", "retrain", "--wait", env=env())
    first = newest(cli)
    assert first["status"] == "ready"

    failing = f"{shlex.quote(sys.executable)} -c \"import sys; print('không đủ bộ nhớ để học'); sys.exit(3)\""
    app = AppServer(database_url, tmp_path / "app.log", **env(MODEL_TRAIN_COMMAND=failing)).start()
    try:
        assert model(app)["id"] == first["id"]
        known = "dong bhxh tu nguyen online duoc khong"  # one of the entry's questions
        # `kb import` of a knowledge base with new questions, while the instance runs
        kb = tmp_path / "kb"
        shutil.copytree(ROOT / "knowledge_base", kb)
        path = kb / "entries" / f"{ENTRY}.yaml"
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        content["questions"] += NEW_QUESTIONS
        path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
        cli("kb", "import", "--dir", str(kb))

        admin = ConsoleClient(app.url)
        admin.login(*ADMIN)
        shown = '<p class="error">Lần học gần nhất bị lỗi'
        assert wait_for(lambda: shown in kb_page(admin), timeout=120, interval=0.3), kb_page(admin)
        state = status(cli)
        failed = state["trainings"][0]
        assert failed["status"] == "failed" and failed["id"] > first["id"], state
        assert failed["error"] == "lệnh học kết thúc với mã 3: không đủ bộ nhớ để học"
        assert any("Lần học gần nhất bị lỗi" in line and "mã 3" in line for line in state["lines"]), state
        assert state["serving"]["id"] == first["id"]
        assert model(app)["id"] == first["id"]  # still the old model, answering
        assert ask(app, known)["entry_id"] == ENTRY

        # the admin asks for another try from the console: it is queued, trained, and fails the same way
        assert "Học lại ngay" in kb_page(admin)
        assert admin.post("/console/kb/model/retrain").status_code == 303
        again = wait_for(lambda: (t := newest(cli)).get("id", 0) > failed["id"] and t["status"] == "failed" and t,
                         timeout=120, interval=1)
        assert again and again["reason"] == f"quản trị viên {ADMIN[0]} yêu cầu", status(cli)
        assert model(app)["id"] == first["id"]
        admin.close()
    finally:
        app.stop()

    # a training that runs past its time limit is stopped and failed the same way
    slow = f"{shlex.quote(sys.executable)} -c \"import time; time.sleep(120)\""
    result = cli("model", "retrain", "--wait", check=False,
                 env=env(MODEL_TRAIN_COMMAND=slow, MODEL_TRAIN_TIMEOUT_SECONDS="1"))
    assert result.returncode == 1
    assert "quá thời gian cho phép (1 giây)" in result.stderr
    state = status(cli)
    assert state["trainings"][0]["status"] == "failed" and state["serving"]["id"] == first["id"]


def test_a_training_abandoned_by_a_killed_trainer_is_finished_by_another(database_url, tmp_path, cli):
    cli("kb", "import")
    slow = f"{shlex.quote(sys.executable)} -c \"import time; time.sleep(60)\""
    lease = dict(MODEL_TRAIN_LEASE_SECONDS="2")
    trainer = subprocess.Popen([str(BIN), "model", "retrain", "--wait"], cwd=ROOT,
                               env=base_env(database_url, **env(MODEL_TRAIN_COMMAND=slow, **lease)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: newest(cli).get("status") == "training", timeout=60, interval=0.2), status(cli)
    finally:
        trainer.send_signal(signal.SIGKILL)  # a crash: nothing is recorded, the claim stays
        trainer.wait()
    abandoned = newest(cli)
    assert abandoned["status"] == "training" and abandoned["attempts"] == 1
    # an instance that trains: after the lease it takes the training back and runs it
    app = AppServer(database_url, tmp_path / "app.log", **env(**lease)).start()
    try:
        assert wait_for(lambda: model(app).get("id") == abandoned["id"], timeout=180, interval=0.3), \
            (status(cli), Path(tmp_path / "app.log").read_text()[-3000:])
        done = newest(cli)
        assert done["id"] == abandoned["id"] and done["status"] == "ready" and done["attempts"] == 2
    finally:
        app.stop()
    assert "was abandoned by" in (tmp_path / "app.log").read_text()


def test_the_image_can_train_and_the_compose_worker_does():
    dockerfile = (ROOT / "Dockerfile").read_text()
    runtime = dockerfile.split("AS runtime", 1)[1]
    assert "COPY scripts/train_semantic.py scripts/train_semantic.py" in runtime
    assert "python scripts/train_semantic.py --out /tmp/trainer-check" in dockerfile.split("AS runtime", 1)[0]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ignored.index("!scripts/train_semantic.py") > ignored.index("scripts")  # the exception comes after
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["app1"]["environment"]["MODEL_TRAINER"] == services["app2"]["environment"]["MODEL_TRAINER"] == "false"
    assert "MODEL_TRAINER" not in services["worker"]["environment"]  # the default: it trains


def test_a_newer_request_supersedes_an_older_queued_one(database_url, cli):
    cli("kb", "import")
    assert cli("model", "retrain", env=env()).stdout.strip() == "training 1 queued"
    cli("model", "retrain", env=env())
    state = status(cli)
    assert [(t["id"], t["status"]) for t in state["trainings"]] == [(2, "queued"), (1, "superseded")]
    assert state["serving"]["source"] == "shipped"
    assert any(line.startswith("Đang chờ học lại") for line in state["lines"]), state
    assert cli("model", "status", env=env()).stdout.startswith(
        "Mô hình ngữ nghĩa: bản đi kèm phần mềm (models/bhxh-static), chưa học lại lần nào.")
