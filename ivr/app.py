"""The composition root: builds every part from the settings and wires them together."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
from pathlib import Path
from typing import Any

from aiohttp import web

from agent_desk import auth
from agent_desk.events import Hub
from agent_desk.http import make_app
from agent_desk.services import Desk
from asr.service import AsrService
from config.settings import SHIPPED_DIR, Settings, config_file
from ivr import emergency, flow, robot, tones
from ivr.acd import Agent
from ivr.call import Leg
from ivr.flow import CallFlow, FlowDeps
from ivr.listening import Hearing, ListenSettings
from ivr.menu import MenuError, MenuSet, load_menus, load_valid_menus
from ivr.pool import MediaPool, PoolConfig
from ivr.prompts import EspeakSynthesizer, PromptCache
from ivr.queueing import AgentQueue
from ivr.robot import Understanding
from kb.entries import read_dir
from kb.service import open_knowledge_base
from kb.store import import_entries, load_entries
from triage.catalog import load_catalog
from triage.model import load as load_model
from workorders.calls import CallStore
from workorders.db import make_engine, migrate

logger = logging.getLogger(__name__)

FIXED_PROMPTS = [
    flow.GOODBYE, flow.LOOKUP_ASK, "未查询到该工单，请核对编号。",
    "正在为您转接人工服务，请稍候。", "转接未成功，正在为您优先转接人工服务。",
    *[f"正在为您转接{name}，请不要挂机。" for name in emergency.LINE_NAMES.values()],
]


class Hotline:
    """The running hotline: media pool, call flows, queue, store and HTTP API."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.menus_path = config_file(settings.config_dir, "ivr.yaml")
        self.menus: MenuSet | None = None
        self._stop = asyncio.Event()
        self._runner: web.AppRunner | None = None

    def current_menus(self) -> MenuSet:
        assert self.menus is not None
        return self.menus

    async def start(self) -> None:
        s = self.s
        engine = make_engine(s.database_url)
        await asyncio.to_thread(migrate, engine)
        self.store = CallStore(engine)
        await self.store.close_open(None, "left unfinished by a previous run")
        self.prompts = PromptCache(s.prompt_cache, EspeakSynthesizer(s.tts_voice, s.tts_rate), s.tts_voice, s.tts_rate)
        self.prompts.start()
        self.asr = AsrService(s.asr_model)
        await asyncio.to_thread(self.asr.load)
        hearing = Hearing(self.asr, ListenSettings(
            no_speech_timeout=s.asr_no_speech_timeout, max_duration=s.asr_max_duration,
            end_silence=s.asr_end_silence, vad_threshold=s.asr_vad_threshold)) if self.asr.available else None
        self.understanding = await asyncio.to_thread(self._load_understanding, engine)
        self.menus = load_valid_menus(self.menus_path, set(s.emergency))
        await self._synthesize(self.menus)
        tone_dir = s.data_dir / "tones"
        ringback = tones.ringback(tone_dir / "ringback.wav").resolve()
        music = tones.queue_music(tone_dir / "queue.wav").resolve()
        agents = [Agent(a.id, a.name, a.sip) for a in s.agents]
        await asyncio.to_thread(self._bootstrap_agents, engine)
        self.queue = AgentQueue(agents, dial=self._dial, say=self.say, music=music,
                                ring_timeout=s.agent_ring_timeout, announce_every=s.queue_announce_every,
                                wrap_up=s.wrap_up)
        self.hub = Hub()
        self.desk = Desk(engine, self.store, self.queue, self.hub, self.understanding.catalog,
                         emergency_uris=lambda: self.s.emergency, ring_timeout=s.emergency_ring_timeout)
        self.queue.on_bridged, self.queue.on_change = self.desk.screen_pop, self.desk.agent_changed
        if hearing is not None and s.asr_live_transcript:
            live = hearing
            self.queue.listener = lambda leg, agent, log: self.desk.live_transcript(leg, agent, log, live)
        self.flow = CallFlow(FlowDeps(
            store=self.store, menus=self.current_menus, say=self.say, dial=self._dial, queue=self.queue,
            emergency_uris=lambda: self.s.emergency, ringback=ringback,
            emergency_ring_timeout=s.emergency_ring_timeout, hearing=hearing, understanding=self.understanding))
        self._kb_task = asyncio.create_task(self._watch_kb(), name="kb-watch")
        self._retention_task = asyncio.create_task(self._retention(), name="retention")
        self._desk_tasks = [asyncio.create_task(self.desk.push_wallboard(), name="wallboard"),
                            asyncio.create_task(self.desk.sync_agents(), name="agents")]
        self.pool = MediaPool(PoolConfig(
            listen_host=s.sip_listen.host, listen_port=s.sip_listen.port, worker_ip=s.worker_ip,
            worker_base_port=s.worker_base_port, workers=s.workers, calls_per_worker=s.calls_per_worker,
            numbers=s.numbers, run_dir=s.data_dir.resolve()), self.flow.handle, self._worker_lost)
        await self.pool.start()
        app = make_app(self.store, self.queue, self.reload, self.health, engine=engine, desk=self.desk, hub=self.hub)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, s.http_listen.host, s.http_listen.port).start()
        logger.info("hotline ready: SIP on %s (%d worker(s)%s), HTTP on http://%s/",
                    s.sip_listen, s.workers, " behind Kamailio" if s.workers > 1 else "", s.http_listen)

    def _bootstrap_agents(self, engine: Any) -> None:
        """Agents listed in hotline.yaml become desk users (they get a password with `hotline user add`)."""
        known = {p.id for p in auth.list_people(engine)}
        for a in self.s.agents:
            if a.id not in known:
                auth.add_user(engine, a.id, "agent", name=a.name, sip=a.sip)

    def _load_understanding(self, engine: Any) -> Understanding:
        """Dispatch catalog and knowledge base; the shipped entries seed an empty knowledge base."""
        catalog = load_catalog(config_file(self.s.config_dir, "dispatch.yaml"))
        if not load_entries(engine):
            report = import_entries(engine, read_dir(SHIPPED_DIR / "kb"))
            logger.info("knowledge base was empty: imported %d shipped entries", len(report.added))
        kb = open_knowledge_base(engine, self.s.config_dir, self.s.kb_threshold)
        kb.refresh()
        model = load_model(config_file(self.s.config_dir, "triage_model.json"))
        return Understanding(kb, catalog, self.s.robot_confirm_timeout, model)

    async def _watch_kb(self) -> None:
        """Edits to the knowledge base (hotline kb import, another process) apply within seconds."""
        while True:
            await asyncio.sleep(3)
            try:
                await asyncio.to_thread(self.understanding.kb.refresh)
            except Exception:  # noqa: BLE001 - keep answering from the index we have
                logger.exception("knowledge base refresh failed; keeping the current index")

    async def _retention(self) -> None:
        """Personal data is kept no longer than configured: purge now and every six hours."""
        while True:
            now = dt.datetime.now(dt.UTC)
            try:
                await self.store.purge(now - dt.timedelta(days=self.s.retention_transcripts_days),
                                       now - dt.timedelta(days=self.s.retention_calls_days))
            except Exception:  # noqa: BLE001 - try again next round
                logger.exception("retention purge failed")
            await asyncio.sleep(6 * 3600)

    async def say(self, text: str) -> Path:
        return (await self.prompts.get(text)).resolve()

    def _dial(self, leg: Leg, uri: str, caller: str) -> Leg:
        return self.pool.dial(leg, uri, caller)

    async def _worker_lost(self, name: str) -> None:
        logger.warning("media worker %s lost; its calls were closed as failed", name)

    async def _synthesize(self, menus: MenuSet) -> None:
        texts = [*menus.prompts(), *FIXED_PROMPTS, *robot.ROBOT_PROMPTS,
                 *(robot.confirm_prompt(line) for line in emergency.LINE_NAMES)]
        await asyncio.gather(*(self.prompts.get(t) for t in texts))

    async def reload(self) -> list[str]:
        """Re-read ivr.yaml; new calls get the new menus, an invalid file changes nothing."""
        try:
            menus, problems = load_menus(self.menus_path, set(self.s.emergency))
        except MenuError as exc:
            problems = exc.problems
        if problems:
            lines = [p.format(self.menus_path) for p in problems]
            logger.error("menus not reloaded, the old ones stay:\n%s", "\n".join(lines))
            return lines
        await self._synthesize(menus)
        self.menus = menus
        logger.info("menus reloaded from %s", self.menus_path)
        return []

    def health(self) -> dict[str, Any]:
        workers = self.pool.status()
        return {"status": "ok" if all(w["running"] for w in workers) else "degraded",
                "workers": workers, "calls_in_progress": len(self.pool.legs),
                "asr": self.asr.status,
                "kamailio": None if self.pool.kamailio is None else str(self.pool.kamailio.rundir)}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self.reload()))  # noqa: RUF006
        try:
            await self.start()
            await self._stop.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        logger.info("hotline stopping")
        for name in ("_kb_task", "_retention_task"):
            if hasattr(self, name):
                getattr(self, name).cancel()
        for task in getattr(self, "_desk_tasks", []):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        if hasattr(self, "pool"):
            await self.pool.stop()
        if hasattr(self, "prompts"):
            self.prompts.stop()
        if hasattr(self, "store"):
            self.store.close()
