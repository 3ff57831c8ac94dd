"""hotline.yaml: loaded once, validated, frozen.

Layering (as in wazo's config.py): shipped defaults -> the file -> HOTLINE_* environment
overrides for the few values a deployment changes per machine.  A bad value stops start-up
with the file, the key and the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ivr.sipuri import is_sip_uri

SHIPPED_DIR = Path(__file__).resolve().parent
EMERGENCY_LINES = ("110", "119", "120", "122")
REQUEST_TYPES = ("咨询", "求助", "投诉", "举报", "建议")   # 第二条: the five kinds of 诉求


class ConfigError(ValueError):
    """A configuration file that cannot be used; says where and why."""

    def __init__(self, file: Path | str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = str(file), key, reason
        where = f"{file}: {key}" if key else str(file)
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class AgentConfig:
    id: str
    name: str
    sip: str


@dataclass(frozen=True)
class Settings:
    """The validated contents of hotline.yaml."""

    sip_listen: HostPort
    numbers: tuple[str, ...]
    worker_ip: str
    worker_base_port: int
    http_listen: HostPort
    database_url: str
    emergency: dict[str, str]
    agents: tuple[AgentConfig, ...]
    workers: int
    calls_per_worker: int
    emergency_ring_timeout: float
    agent_ring_timeout: float
    queue_announce_every: float
    tts_voice: str
    tts_rate: int
    data_dir: Path
    source: Path
    config_dir: Path
    asr_model: Path | None = None
    asr_end_silence: float = 0.6
    asr_max_duration: float = 15.0
    asr_no_speech_timeout: float = 6.0
    asr_vad_threshold: float = 300.0
    asr_live_transcript: bool = True
    kb_threshold: float | None = None   # None: the acceptance model's calibrated threshold
    wrap_up: float = 60.0
    retention_transcripts_days: int = 180
    retention_calls_days: int = 1095
    robot_confirm_timeout: float = 5.0

    @property
    def prompt_cache(self) -> Path:
        return self.data_dir / "prompts"


_DEFAULTS: dict[str, Any] = {
    "sip": {"listen": "0.0.0.0:5060", "numbers": ["12345"], "worker_ip": "127.0.0.1",
            "worker_base_port": 5070},
    "http": {"listen": "127.0.0.1:8080"},
    "database": {"url": "sqlite:///var/hotline.db"},
    "emergency": {},
    "agents": [],
    "workers": 4,
    "calls_per_worker": 4,
    "queue": {"agent_ring_timeout": 15, "announce_every": 30, "wrap_up": 60},
    "transfer": {"emergency_ring_timeout": 20},
    "tts": {"voice": "sit/cmn", "rate": 150},
    "asr": {"model": None, "end_silence": 0.6, "max_duration": 15, "no_speech_timeout": 6,
            "vad_threshold": 300, "live_transcript": True},
    "kb": {"threshold": None},
    "retention": {"transcripts_days": 180, "call_records_days": 1095},
    "data_dir": "var",
}
_ALLOWED: dict[str, set[str] | None] = {
    "sip": {"listen", "numbers", "worker_ip", "worker_base_port"},
    "http": {"listen"},
    "database": {"url"},
    "emergency": None,
    "agents": None,
    "workers": None,
    "calls_per_worker": None,
    "queue": {"agent_ring_timeout", "announce_every", "wrap_up"},
    "transfer": {"emergency_ring_timeout"},
    "tts": {"voice", "rate"},
    "data_dir": None,
    "kb": {"threshold"},
    "retention": {"transcripts_days", "call_records_days"},
    "asr": {"model", "end_silence", "max_duration", "no_speech_timeout", "vad_threshold", "live_transcript"},
}


def _hostport(file: Path, key: str, value: Any) -> HostPort:
    if not isinstance(value, str) or ":" not in value:
        raise ConfigError(file, key, f"expected HOST:PORT, got {value!r}")
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(file, key, f"expected HOST:PORT with a port 1-65535, got {value!r}")
    return HostPort(host.strip("[]"), int(port))


def _number(file: Path, key: str, value: Any, lo: float, hi: float, *, integer: bool = False) -> Any:
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type:
        kind = "an integer" if integer else "a number"
        raise ConfigError(file, key, f"expected {kind}, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(file, key, f"must be between {lo:g} and {hi:g}, got {value!r}")
    return value


def _flag(file: Path, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(file, key, f"expected true or false, got {value!r}")
    return value


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key != "emergency":
            out[key] = _merge(base[key], value)
        else:
            out[key] = value
    return out


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error becomes a ConfigError naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", "not UTF-8 text") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, where, f"YAML syntax error: {problem}") from exc


def config_file(config_dir: Path | None, name: str) -> Path:
    """``name`` from the given directory, or the shipped one if it is not there."""
    if config_dir is not None and (config_dir / name).exists():
        return config_dir / name
    return SHIPPED_DIR / name


def load_settings(config_dir: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    path = config_file(config_dir, "hotline.yaml")
    raw = read_yaml(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(path, "", "top level must be a mapping of keys")
    for key, value in raw.items():
        if key not in _ALLOWED:
            raise ConfigError(path, str(key), f"unknown key (known: {', '.join(sorted(_ALLOWED))})")
        sub = _ALLOWED[key]
        if sub is not None:
            if not isinstance(value, dict):
                raise ConfigError(path, key, "expected a mapping")
            for k in value:
                if k not in sub:
                    raise ConfigError(path, f"{key}.{k}", f"unknown key (known: {', '.join(sorted(sub))})")
    data = _merge(_DEFAULTS, raw)
    env = dict(os.environ) if env is None else env
    if env.get("HOTLINE_DATABASE_URL"):
        data["database"]["url"] = env["HOTLINE_DATABASE_URL"]
    return _build(path, data, config_dir or SHIPPED_DIR)


def _build(path: Path, d: dict[str, Any], config_dir: Path) -> Settings:
    sip, q = d["sip"], d["queue"]
    numbers = sip["numbers"]
    if not isinstance(numbers, list) or not numbers or not all(isinstance(n, (str, int)) for n in numbers):
        raise ConfigError(path, "sip.numbers", "expected a non-empty list of numbers")
    numbers = [str(n) for n in numbers]
    for n in numbers:
        if not n.isdigit():
            raise ConfigError(path, "sip.numbers", f"{n!r} is not a phone number (digits only)")
    emergency = d["emergency"]
    if not isinstance(emergency, dict):
        raise ConfigError(path, "emergency", "expected a mapping of line number to SIP URI")
    clean_em: dict[str, str] = {}
    for line, uri in emergency.items():
        key = f"emergency.{line}"
        if str(line) not in EMERGENCY_LINES:
            raise ConfigError(path, key, f"not an emergency line (use {', '.join(EMERGENCY_LINES)})")
        if not isinstance(uri, str) or not is_sip_uri(uri):
            raise ConfigError(path, key, f"not a SIP URI: {uri!r}")
        clean_em[str(line)] = uri
    agents = d["agents"]
    if not isinstance(agents, list):
        raise ConfigError(path, "agents", "expected a list of {id, name, sip}")
    seen: set[str] = set()
    clean_agents = []
    for i, a in enumerate(agents):
        key = f"agents[{i}]"
        if not isinstance(a, dict):
            raise ConfigError(path, key, "expected a mapping with id, name, sip")
        extra = set(a) - {"id", "name", "sip"}
        if extra:
            raise ConfigError(path, f"{key}.{sorted(extra)[0]}", "unknown key (known: id, name, sip)")
        for k in ("id", "name", "sip"):
            if not isinstance(a.get(k), (str, int)) or str(a.get(k)).strip() == "":
                raise ConfigError(path, f"{key}.{k}", "missing or empty")
        if not is_sip_uri(str(a["sip"])):
            raise ConfigError(path, f"{key}.sip", f"not a SIP URI: {a['sip']!r}")
        if str(a["id"]) in seen:
            raise ConfigError(path, f"{key}.id", f"duplicate agent id {a['id']!r}")
        seen.add(str(a["id"]))
        clean_agents.append(AgentConfig(str(a["id"]), str(a["name"]), str(a["sip"])))
    db = d["database"]["url"]
    if not isinstance(db, str) or "://" not in db:
        raise ConfigError(path, "database.url", f"not a database URL: {db!r}")
    voice = d["tts"]["voice"]
    if not isinstance(voice, str) or not voice:
        raise ConfigError(path, "tts.voice", "expected an espeak-ng voice name such as sit/cmn")
    asr = d["asr"]
    kb_t = d["kb"]["threshold"]
    model = asr["model"]
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise ConfigError(path, "asr.model", "expected the path of a Vosk model directory (or null for keys only)")
    data_dir = d["data_dir"]
    if not isinstance(data_dir, str) or not data_dir:
        raise ConfigError(path, "data_dir", "expected a directory path")
    return Settings(
        sip_listen=_hostport(path, "sip.listen", sip["listen"]),
        numbers=tuple(numbers),
        worker_ip=str(sip["worker_ip"]),
        worker_base_port=_number(path, "sip.worker_base_port", sip["worker_base_port"], 1024, 65000, integer=True),
        http_listen=_hostport(path, "http.listen", d["http"]["listen"]),
        database_url=db,
        emergency=clean_em,
        agents=tuple(clean_agents),
        workers=_number(path, "workers", d["workers"], 1, 64, integer=True),
        calls_per_worker=_number(path, "calls_per_worker", d["calls_per_worker"], 2, 10000, integer=True),
        emergency_ring_timeout=float(_number(path, "transfer.emergency_ring_timeout",
                                             d["transfer"]["emergency_ring_timeout"], 1, 120)),
        agent_ring_timeout=float(_number(path, "queue.agent_ring_timeout", q["agent_ring_timeout"], 1, 120)),
        queue_announce_every=float(_number(path, "queue.announce_every", q["announce_every"], 5, 600)),
        tts_voice=voice,
        tts_rate=_number(path, "tts.rate", d["tts"]["rate"], 60, 400, integer=True),
        data_dir=Path(data_dir),
        source=path,
        config_dir=config_dir,
        asr_model=Path(model) if model else None,
        asr_end_silence=float(_number(path, "asr.end_silence", asr["end_silence"], 0.2, 5)),
        asr_max_duration=float(_number(path, "asr.max_duration", asr["max_duration"], 2, 120)),
        asr_no_speech_timeout=float(_number(path, "asr.no_speech_timeout", asr["no_speech_timeout"], 1, 60)),
        asr_vad_threshold=float(_number(path, "asr.vad_threshold", asr["vad_threshold"], 10, 20000)),
        kb_threshold=None if kb_t is None else float(_number(path, "kb.threshold", kb_t, 0, 1)),
        asr_live_transcript=_flag(path, "asr.live_transcript", asr["live_transcript"]),
        wrap_up=float(_number(path, "queue.wrap_up", q["wrap_up"], 0, 3600)),
        retention_transcripts_days=_number(path, "retention.transcripts_days", d["retention"]["transcripts_days"],
                                           1, 36500, integer=True),
        retention_calls_days=_number(path, "retention.call_records_days", d["retention"]["call_records_days"],
                                     1, 36500, integer=True),
    )
