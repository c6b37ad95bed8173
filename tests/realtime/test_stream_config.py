"""The server's stream settings: heartbeats and the bounds of a slow subscriber."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from silkline_server.config import ConfigError, load_config, parse_config

from ..conftest import DEV_CONFIG


def test_the_dev_config_sets_the_stream_settings() -> None:
    config = load_config(DEV_CONFIG)
    assert config.heartbeat_interval_s == 15.0
    assert config.subscriber_write_timeout_s == 10.0
    assert config.subscriber_max_lag == 10_000


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("heartbeat_interval_s", "15", "'heartbeat_interval_s' has the wrong type"),
        ("heartbeat_interval_s", True, "'heartbeat_interval_s' has the wrong type"),
        ("heartbeat_interval_s", 0, "must be seconds in (0, 3600.0]"),
        ("heartbeat_interval_s", float("inf"), "must be seconds in (0, 3600.0]"),
        ("heartbeat_interval_s", float("nan"), "must be seconds in (0, 3600.0]"),
        ("subscriber_write_timeout_s", -1, "must be seconds in (0, 3600.0]"),
        ("subscriber_max_lag", 2.5, "'subscriber_max_lag' has the wrong type"),
        ("subscriber_max_lag", 0, "subscriber_max_lag must be at least 1"),
        ("heartbeat_interval", 5, "unknown key(s) ['heartbeat_interval']"),
    ],
)
def test_a_wrong_stream_setting_is_refused_with_its_key(key: str, value: Any, words: str) -> None:
    raw = tomllib.loads(DEV_CONFIG.read_text())
    raw[key] = value
    with pytest.raises(ConfigError) as refused:
        parse_config(raw, base=DEV_CONFIG.parent)
    assert words in str(refused.value)


def test_a_fraction_of_a_second_is_a_heartbeat_interval() -> None:
    raw = tomllib.loads(DEV_CONFIG.read_text())
    raw["heartbeat_interval_s"] = 0.5
    assert parse_config(raw, base=DEV_CONFIG.parent).heartbeat_interval_s == 0.5
