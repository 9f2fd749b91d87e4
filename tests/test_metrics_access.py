"""/metrics without METRICS_TOKEN answers only clients on loopback or a private network; with a token,
only the token (in process: what is tested is the route's rule, not storage)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from app.service import Runtime
from app.settings import Settings


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    db = tmp_path_factory.mktemp("metrics") / "bhxh.db"
    return Runtime.start(Settings(database_url=f"sqlite:///{db}", run_workers=False, kb_poll_seconds=0),
                         load_model=False)


def get_metrics(runtime, client_ip: str, token: str = "", auth: str | None = None):
    app = create_app(runtime.settings.model_copy(update={"metrics_token": token}), runtime)
    headers = {"Authorization": f"Bearer {auth}"} if auth else {}
    return TestClient(app, client=(client_ip, 40000)).get("/metrics", headers=headers)


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1", "10.1.2.3", "172.18.0.5", "192.168.1.20"])
def test_without_token_private_clients_get_metrics(runtime, ip):
    r = get_metrics(runtime, ip)
    assert r.status_code == 200 and "bhxh_database_up" in r.text


@pytest.mark.parametrize("ip", ["93.184.216.34", "8.8.8.8", "2001:4860::8888"])
def test_without_token_public_clients_are_refused(runtime, ip):
    r = get_metrics(runtime, ip)
    assert r.status_code == 403 and "METRICS_TOKEN" in r.json()["detail"]


def test_with_token_only_the_token_counts(runtime):
    assert get_metrics(runtime, "127.0.0.1", token="scrape-secret").status_code == 401
    assert get_metrics(runtime, "93.184.216.34", token="scrape-secret", auth="scrape-secret").status_code == 200
