"""hotline.yaml validation: bad values stop start-up with the file, the key and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "hotline.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_shipped_defaults_load() -> None:
    s = load_settings(None, env={})
    assert s.numbers == ("12345",) and s.workers == 4
    assert set(s.emergency) == {"110", "119", "120", "122"}
    assert s.agents[0].name == "王丽"


def test_missing_file_falls_back_to_shipped(tmp_path: Path) -> None:
    assert load_settings(tmp_path, env={}).sip_listen.port == 5060


def test_partial_file_keeps_other_defaults(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, "workers: 2\nhttp: {listen: 127.0.0.1:9000}\n"), env={})
    assert s.workers == 2 and s.http_listen.port == 9000 and s.numbers == ("12345",)


def test_environment_overrides_database(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, "workers: 1\n"), env={"HOTLINE_DATABASE_URL": "postgresql+psycopg://x/y"})
    assert s.database_url == "postgresql+psycopg://x/y"


@pytest.mark.parametrize(("text", "key", "reason"), [
    ("colour: blue\n", "colour", "unknown key"),
    ("sip: {port: 5060}\n", "sip.port", "unknown key"),
    ("workers: four\n", "workers", "expected an integer"),
    ("workers: 0\n", "workers", "between 1 and 64"),
    ("sip: {listen: localhost}\n", "sip.listen", "HOST:PORT"),
    ("sip: {listen: '1.2.3.4:99999'}\n", "sip.listen", "port 1-65535"),
    ("sip: {numbers: []}\n", "sip.numbers", "non-empty list"),
    ("sip: {numbers: ['12a45']}\n", "sip.numbers", "not a phone number"),
    ("emergency: {'119': 'http://fire'}\n", "emergency.119", "not a SIP URI"),
    ("emergency: {'911': 'sip:911@x'}\n", "emergency.911", "not an emergency line"),
    ("agents: [{id: 1, name: a, sip: 'tel:123'}]\n", "agents[0].sip", "not a SIP URI"),
    ("agents: [{id: 1, name: a}]\n", "agents[0].sip", "missing or empty"),
    ("agents: [{id: 1, name: a, sip: 'sip:a@b'}, {id: 1, name: b, sip: 'sip:b@c'}]\n", "agents[1].id", "duplicate"),
    ("database: {url: hotline.db}\n", "database.url", "not a database URL"),
    ("queue: {agent_ring_timeout: -1}\n", "queue.agent_ring_timeout", "between"),
    ("- a\n- b\n", "", "top level must be a mapping"),
    ("workers: [1\n", "line 2, column 1", "YAML syntax error"),
])
def test_bad_values_name_file_key_and_reason(tmp_path: Path, text: str, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text), env={})
    assert err.value.file == str(tmp_path / "hotline.yaml")
    assert err.value.key == key
    assert reason in err.value.reason
