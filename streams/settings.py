"""The one typed, frozen settings object, read from the environment where the app is wired."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_KAFKA = "127.0.0.1:19092"
LOCAL_DATABASE = "postgresql://postgres@127.0.0.1:15432/leadstream"


class Settings(BaseSettings):
    """Defaults point at the servers ``make up`` starts; the environment wins."""

    model_config = SettingsConfigDict(env_prefix="LEADSTREAM_", frozen=True, extra="ignore")

    kafka_bootstrap_servers: str = Field(
        LOCAL_KAFKA,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "LEADSTREAM_KAFKA_BOOTSTRAP_SERVERS"),
    )
    database_url: SecretStr = Field(
        SecretStr(LOCAL_DATABASE),
        validation_alias=AliasChoices("DATABASE_URL", "LEADSTREAM_DATABASE_URL"),
    )

    # Topics
    topic_rows: str = "lead_import_row"
    topic_deliveries: str = "campaign_delivered"
    topic_control: str = "lead_import_control"
    topic_lead_events: str = "lead_events"
    partitions: int = 4
    rows_retention_ms: int = 7 * 24 * 3600 * 1000
    lead_events_retention_ms: int = 30 * 24 * 3600 * 1000
    dlq_retention_ms: int = 30 * 24 * 3600 * 1000

    # Worker
    worker_group: str = "leadstream-worker"
    batch_size: int = 5000
    batch_within_s: float = 0.5
    retry_initial_s: float = 0.2
    retry_max_s: float = 10.0
    worker_web_port: int = 6066
    worker_datadir: str = ".local/faust"
    metrics_port: int = 9464
    metrics_interval_s: float = 5.0  # how often the lag and imports-in-progress gauges refresh
    outbox_batch: int = 5000

    # Producer
    producer_linger_ms: int = 20
    producer_batch_bytes: int = 1_000_000
    producer_compression: str = "lz4"

    def dlq_topic(self, topic: str) -> str:
        return f"{topic}.dlq"

    def to_env(self) -> dict[str, str]:
        """These settings as environment variables, for a worker started as a subprocess."""
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "DATABASE_URL": self.database_url.get_secret_value(),
        }
        for name, value in self.model_dump().items():
            if name not in ("kafka_bootstrap_servers", "database_url"):
                env[f"LEADSTREAM_{name.upper()}"] = str(value)
        return env


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
