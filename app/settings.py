"""Settings from the environment (and an optional .env file), via pydantic-settings."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{ROOT / 'data' / 'bhxh.db'}")
    knowledge_base_dir: Path = ROOT / "knowledge_base"
    topics_file: Path | None = None
    # The day answers are rendered for; empty means today. Lets staff preview a future parameter.
    answer_date: dt.date | None = None
    admin_api_token: str = ""
    # Semantic retrieval: "auto" loads the bundled model; "off" keeps lexical + fuzzy only.
    semantic_model: str = "auto"
    log_level: str = "INFO"

    def today(self) -> dt.date:
        return self.answer_date or dt.date.today()


@lru_cache
def get_settings() -> Settings:
    return Settings()
