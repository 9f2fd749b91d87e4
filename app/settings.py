"""Settings from the environment (and an optional .env file), via pydantic-settings."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class ProvinceSecrets(BaseModel):
    """One province's channel credentials, from PROVINCE__<CODE>__<NAME> (e.g. PROVINCE__HN__ZALO_OA_SECRET_KEY).
    App-level values left empty fall back to the flat ZALO_APP_ID / ZALO_APP_SECRET / FB_APP_ID / FB_APP_SECRET
    (several OAs or pages of one app share them)."""

    zalo_app_id: str = ""
    zalo_oa_secret_key: str = ""
    zalo_app_secret: str = ""
    zalo_access_token: str = ""
    zalo_refresh_token: str = ""
    fb_app_id: str = ""
    fb_app_secret: str = ""
    fb_page_access_token: str = ""


class Settings(BaseSettings):
    # "__" separates nested names: PROVINCE__HN__ZALO_OA_SECRET_KEY is province["hn"].zalo_oa_secret_key
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      env_nested_delimiter="__")

    database_url: str = Field(default=f"sqlite:///{ROOT / 'data' / 'bhxh.db'}")
    knowledge_base_dir: Path = ROOT / "knowledge_base"
    topics_file: Path | None = None
    # The day answers are rendered for; empty means today. Lets staff preview a future parameter.
    answer_date: dt.date | None = None
    admin_api_token: str = ""
    # Semantic retrieval: "auto" loads the bundled model; "off" keeps lexical + fuzzy only.
    semantic_model: str = "auto"
    log_level: str = "INFO"
    # text: "time level logger: message"; json: one JSON object per line (ts, level, logger, message, ...)
    log_format: str = "text"
    # When set, GET /metrics needs "Authorization: Bearer <token>"; otherwise keep /metrics off the public proxy
    metrics_token: str = ""
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's setting; "*" behind a private proxy)
    forwarded_allow_ips: str = "127.0.0.1"
    # Start-up runs `bhxh-bot db upgrade`; turn off to upgrade as a separate deployment step
    db_upgrade_on_start: bool = True

    # Several provinces (tenants): a reviewed YAML file declaring them (see README "Several provinces");
    # empty: one province, `default`, from the flat ZALO_* / FB_* settings and knowledge_base/office.yaml
    provinces_file: Path | None = None
    # per-province secrets, keyed by lower-case province code
    province: dict[str, ProvinceSecrets] = Field(default_factory=dict)

    # Zalo OA (disabled while ZALO_APP_ID / ZALO_OA_SECRET_KEY are unset)
    zalo_app_id: str = ""
    zalo_oa_secret_key: str = ""
    zalo_app_secret: str = ""
    zalo_access_token: str = ""
    zalo_refresh_token: str = ""
    zalo_api_base: str = "https://openapi.zalo.me"
    zalo_oauth_base: str = "https://oauth.zaloapp.com"
    # Facebook Page / Messenger (disabled while FB_APP_SECRET / FB_PAGE_ACCESS_TOKEN are unset)
    fb_app_id: str = ""
    fb_app_secret: str = ""
    fb_verify_token: str = ""
    fb_page_access_token: str = ""
    fb_graph_base: str = "https://graph.facebook.com"
    fb_graph_version: str = "v25.0"
    # The page passed Meta's App Review for the HUMAN_AGENT tag (staff replies from 24 h to 7 days)
    fb_human_agent_approved: bool = False

    # Delivery
    http_timeout_seconds: float = 10.0
    webhook_max_bytes: int = 256 * 1024
    # Every other endpoint's request body limit (413 beyond it, checked before the body is read)
    max_request_bytes: int = 64 * 1024
    # the console's knowledge-base imports (a CSV or a zip of knowledge_base/)
    upload_max_bytes: int = 10 * 1024 * 1024
    # A citizen message longer than this is not searched: it goes to staff as a personal case
    max_message_chars: int = 4000
    # Per client IP on /api/...: sustained requests per minute and the burst allowed (0 turns it off)
    api_rate_per_minute: float = 120
    api_rate_burst: int = 30
    # Staff console login attempts per IP and per user name (app.ratelimit.limit_login)
    login_rate_per_minute: float = 5
    login_rate_burst: int = 5
    # A reply that fails for a passing reason (timeouts, 5xx, rate limits, an outage) is retried until the
    # platform's messaging window for it closes (channels.md: Messenger 24 h, or 7 days for staff replies with
    # HUMAN_AGENT; Zalo 48 h for the bot, 7 days for staff), then shown to staff. The wait between attempts
    # doubles from 2 s up to this, with jitter
    send_backoff_max_seconds: float = 300.0
    send_concurrency: int = 8  # platform calls in flight at once (never two of one conversation)
    # After a handoff, an escalation or a staff reply the bot stays silent this long (or until released)
    bot_quiet_hours: float = 24.0
    # How often each instance and worker checks whether the knowledge base or the parameters changed
    # (a console edit made on another instance, an import) and reloads them; 0 turns it off
    kb_poll_seconds: float = 5.0
    # The semantic model keeps learning (app/retrain.py; docs/model-retraining.md). A change to the knowledge
    # base's training texts (questions, titles, out-of-scope and handoff examples) queues a training
    model_retrain: bool = True
    # this process (serve, worker) runs queued trainings; one runs at a time across all processes
    model_trainer: bool = True
    # the training command, given --kb DIR --out DIR (default: this Python running scripts/train_semantic.py)
    model_train_command: str = ""
    model_train_args: str = ""  # more options for it, e.g. "--epochs 20"
    model_train_timeout_seconds: float = 1800.0  # a longer training is stopped and recorded as failed
    # a training whose trainer stopped renewing its heartbeat this long ago was abandoned (a crash)
    model_train_lease_seconds: float = 60.0
    model_train_nice: int = 19  # CPU priority of the training process (19: lowest; 0: unchanged)
    # Start the inbound and outbox workers inside the web process
    run_workers: bool = True
    # Several app instances or `bhxh-bot worker` processes share this database: at start-up only
    # claims older than claim_timeout_seconds are taken back (a lone instance takes back all of its own)
    shared_database: bool = False
    # a claimed event or send older than this belongs to a worker that died (sends time out long before)
    claim_timeout_seconds: float = 120.0
    # a send cut off by a crash waits this long for the platform's echo (which proves it arrived)
    # before it is sent again; platforms redeliver webhooks the app missed while it was down
    send_doubt_seconds: float = 90.0
    # A Zalo echo whose message id is unknown (the send's answer was lost) settles the unsettled send to that
    # citizen with the same text whose last attempt began within this many seconds of the echo's send time
    zalo_echo_match_seconds: float = 900.0
    # Fault tests only: comma-separated points (before_call, after_call) where each send stops, writes
    # SEND_PAUSE_DIR/<point>-<outbox id> and waits until SEND_PAUSE_DIR/go exists
    send_pause_at: str = ""
    send_pause_dir: str = ""
    # A citizen sending more than this many messages a minute gets one notice, then is not
    # answered until the minute has passed (the messages are still stored)
    citizen_messages_per_minute: int = 20
    # Webhook events are kept this many days (their unique keys drop the platforms' redeliveries), then
    # pruned by the workers; an event whose platform timestamp is older than that (a replay the pruned keys
    # could no longer catch) or more than a day in the future is acknowledged and dropped
    inbound_retention_days: float = 30.0

    # Staff console
    console_session_hours: float = 12.0  # a login lasts this long
    # Mark the session cookie Secure even when the app itself sees plain HTTP (behind a TLS proxy)
    console_secure_cookies: bool = False
    # Failed console logins never lock an account: after these many failures within the window, each
    # further attempt waits LOGIN_DELAY_SECONDS, doubling with every failure, up to LOGIN_MAX_DELAY_SECONDS
    login_max_failures: int = 5  # per e-mail, from any address (not for a browser that logged in to it before)
    login_max_failures_per_ip: int = 20  # per address, any e-mail
    login_window_minutes: float = 15.0  # failures older than this are forgotten
    login_delay_seconds: float = 30.0
    login_max_delay_seconds: float = 900.0
    console_poll_seconds: float = 3.0  # how often the inbox asks for new escalations

    @field_validator("provinces_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        return None if value in ("", None) else value

    def today(self) -> dt.date:
        return self.answer_date or dt.date.today()


@lru_cache
def get_settings() -> Settings:
    return Settings()
