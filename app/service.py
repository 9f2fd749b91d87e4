"""Wiring: database, live knowledge base, engine; and the conversation service that stores turns."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session

from app import database, metrics, models, retrain, storage
from app.conversation import ConversationPolicy
from app.engine import ANSWERED, CLARIFY, ESCALATED, HANDOFF, SMALLTALK, Engine, Reply, Turn
from app.knowledge import KnowledgeBase, fingerprint, load_directory
from app.models import Author, Direction
from app.provinces import Provinces, contact_warnings, load_or_fail
from app.semantic import load_encoder, model_is_current
from app.settings import Settings
from app.tokens import StoredTokens
from webhooks.base import TokenPair

log = logging.getLogger(__name__)


class KnowledgeBaseError(RuntimeError):
    pass


def import_directory(db: DbEngine, settings: Settings) -> KnowledgeBase:
    kb, errors = load_directory(settings.knowledge_base_dir)
    if errors:
        raise KnowledgeBaseError("knowledge base has errors:\n" + "\n".join(errors))
    with Session(db) as session:
        storage.save_kb(session, kb, source=str(Path(settings.knowledge_base_dir).resolve()))
    return kb


def _follow_files(db: DbEngine, settings: Settings, live: KnowledgeBase, imported: str | None) -> KnowledgeBase:
    """The reviewed files changed (a new release, a git pull) while the database copy is still
    exactly what was last imported from them: import the files. A database imported from
    another directory (`kb import --dir`) is left alone. Edits made in the database are never
    overwritten; then the files wait for `bhxh-bot kb import`. Returns `live` when nothing was imported."""
    files, errors = load_directory(settings.knowledge_base_dir)
    if errors or fingerprint(files) == fingerprint(live):
        return live
    if imported is not None and imported == fingerprint(live):
        log.info("knowledge base files changed since the last import: importing %s", settings.knowledge_base_dir)
        with Session(db) as session:
            storage.save_kb(session, files, source=str(Path(settings.knowledge_base_dir).resolve()))
        return files
    log.warning("knowledge base files differ from the database, which has its own edits: keeping the database; "
                "`bhxh-bot kb export` to review them, `bhxh-bot kb import` to take the files")
    return live


@dataclass
class Runtime:
    settings: Settings
    db: DbEngine
    engine: Engine
    provinces: Provinces
    revision: str | None = None  # the knowledge base revision the engine was built from
    # the semantic model follows the newest one trained in the database (app/retrain.py)
    follows_model: bool = False
    model_id: int | None = None  # that model's id; None: the committed models/bhxh-static (or none)
    model: dict = field(default_factory=lambda: retrain.summary(None))

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # one engine rebuild at a time; answering never takes it
        self._bad_models: set[int] = set()

    @classmethod
    def start(cls, settings: Settings, encoder=None, load_model: bool = True) -> Runtime:
        provinces = load_or_fail(settings)  # a bad provinces file stops the start, before anything is stored
        db = database.make_engine(settings.database_url)
        storage.init_db(db, upgrade=settings.db_upgrade_on_start)
        with Session(db) as session:
            empty = storage.kb_is_empty(session)
        if empty:
            log.info("database has no knowledge base yet: importing %s", settings.knowledge_base_dir)
            import_directory(db, settings)
        with Session(db) as session:
            imported, source = storage.imported_from(session)
        revision, kb = _read_kb(db)
        if not empty and source == str(Path(settings.knowledge_base_dir).resolve()):
            if _follow_files(db, settings, kb, imported) is not kb:
                revision, kb = _read_kb(db)
        follows = encoder is None and load_model and retrain.enabled(settings)
        row = None
        if follows:
            encoder, row = _database_model(db)
        if encoder is None and load_model:
            encoder = load_encoder(settings.semantic_model)
            if encoder is not None and settings.semantic_model == "auto" and model_is_current(kb) is False:
                log.warning("the semantic model was trained on a different knowledge base; it is retrained "
                            "in the background (MODEL_RETRAIN) or by `bhxh-bot model retrain`")
        for warning in contact_warnings(provinces, kb.office):
            log.warning("%s", warning)
        unknown = kb.parameters.provinces() - set(provinces.codes())
        if unknown:
            log.warning("parameter values of provinces not in the provinces file are ignored: %s", sorted(unknown))
        return cls(settings=settings, db=db, engine=Engine(kb, encoder=encoder), provinces=provinces,
                   revision=revision, follows_model=follows, model_id=row.id if row else None,
                   model=retrain.summary(row) if follows else {"source": "configured",
                                                               "setting": settings.semantic_model})

    def reload(self) -> None:
        """Rebuild the engine from the live knowledge base (after an import or edit)."""
        with self._lock:
            revision, kb = _read_kb(self.db)
            self.engine = Engine(kb, encoder=self.engine.index.encoder)
            self.revision = revision

    def follow_model(self) -> bool:
        """Answer with the newest model trained in the database, once it is ready: loaded and built into a
        fresh engine here, then swapped in at once (answers in flight finish on the old engine). A model
        that does not load is logged and skipped; the current one keeps serving."""
        if not self.follows_model:
            return False
        with Session(self.db) as session:
            newest = retrain.newest_ready_id(session)
        if newest is None or newest == self.model_id or newest in self._bad_models:
            return False
        try:
            row = retrain.ready_model(self.db, newest)
            if row is None or row.files is None:
                raise LookupError(f"semantic model {newest} has no files")
            encoder = retrain.load_files(row.files)
        except Exception:
            log.exception("semantic model %s could not be loaded; the current one keeps serving", newest)
            self._bad_models.add(newest)
            return False
        with self._lock:
            revision, kb = _read_kb(self.db)
            engine = Engine(kb, encoder=encoder)
            self.engine, self.revision = engine, revision
            self.model_id, self.model = row.id, retrain.summary(row)
        log.info("now answering with semantic model %s (trained on knowledge base revision %s)", row.id,
                 row.kb_revision)
        return True

    def reload_if_changed(self) -> bool:
        """Reload when another process (a console edit on another instance, an import) changed the
        knowledge base since this one loaded it; one primary-key read otherwise."""
        with Session(self.db) as session:
            if storage.kb_revision(session) == self.revision:
                return False
        log.info("the knowledge base changed: reloading")
        self.reload()
        return True

    def stored_tokens(self, key: str, exchange: Callable[[str], TokenPair]) -> StoredTokens:
        """A channel's rotating token pair, kept in the database under `key` (the channels are built
        from this runtime: webhooks.registry.build_channels)."""
        return StoredTokens(self.db, key, exchange)


def _database_model(db: DbEngine):
    """The newest model trained in the database, loaded, with its row; (None, None) when there is none
    or it does not load (then the committed model serves)."""
    try:
        row = retrain.ready_model(db)
        if row is None or row.files is None:
            return None, None
        return retrain.load_files(row.files), row
    except Exception:
        log.exception("the semantic model stored in the database could not be loaded; using models/bhxh-static")
        return None, None


def _read_kb(db: DbEngine) -> tuple[str | None, KnowledgeBase]:
    """The live knowledge base with its revision, read in one transaction."""
    with Session(db) as session:
        return storage.kb_revision(session), storage.load_kb(session)


class KnowledgeWatcher:
    """Keeps a process's engine on the live knowledge base: polls its revision every `interval` seconds."""

    def __init__(self, runtime: Runtime, interval: float):
        self.runtime = runtime
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._checked: object = object()  # the revision last checked for a training (none yet)

    def start(self) -> None:
        if self.interval > 0:
            self._thread = threading.Thread(target=self._run, daemon=True, name="kb-watch")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def poll(self) -> None:
        """Follow the knowledge base; queue a training when its training texts changed (whichever process
        changed it, even while this one was stopped); follow the newest trained model."""
        rt = self.runtime
        rt.reload_if_changed()
        if rt.follows_model and rt.settings.model_retrain and rt.revision != self._checked:
            revision, kb = rt.revision, rt.engine.kb
            retrain.check(rt.db, rt.settings, kb, revision)
            self._checked = revision
        rt.follow_model()

    def _run(self) -> None:
        while True:
            try:
                self.poll()
            except Exception:
                log.exception("could not check the knowledge base or the model for changes; trying again")
            if self._stop.wait(self.interval):
                return


# one turn at a time per conversation in this process: a fixed set of locks, a conversation's picked by
# its key's hash (two conversations may share one and then take turns; the set never grows)
LOCK_STRIPES = 64
_locks = tuple(threading.Lock() for _ in range(LOCK_STRIPES))


def _conversation_lock(channel: str, external_id: str) -> threading.Lock:
    return _locks[hash((channel, external_id)) % LOCK_STRIPES]


@dataclass
class Handled:
    reply: Reply
    conversation_id: int
    message: models.Message  # the citizen's message (its id is set once the session flushes)
    escalation: models.Escalation | None = None

    @property
    def escalation_id(self) -> int | None:
        return self.escalation.id if self.escalation is not None else None


class ConversationService:
    """Answers a citizen's message in its conversation and stores everything that happened.

    Answering (`reply_for`, CPU only) and storing (`record_turn`, database only) are separate steps,
    so that a worker can answer a whole batch before it takes the database's write lock."""

    def __init__(self, runtime: Runtime, policy: ConversationPolicy | None = None):
        self.runtime = runtime
        self.policy = policy or ConversationPolicy(runtime.settings.bot_quiet_hours)

    def handle(self, channel: str, external_id: str, text: str, chosen_entry: str | None = None,
               platform_message_id: str | None = None, province: str = "default") -> tuple[Reply, int]:
        done = self.handle_turn(channel, external_id, text, chosen_entry, platform_message_id, province)
        return done.reply, done.conversation_id

    def handle_turn(self, channel: str, external_id: str, text: str, chosen_entry: str | None = None,
                    platform_message_id: str | None = None, province: str = "default") -> Handled:
        """`province`: the province of a new conversation (an existing one keeps its own)."""
        with _conversation_lock(channel, external_id), Session(self.runtime.db) as session:
            conv = storage.find_conversation(session, channel, external_id)
            conv = conv or self.policy.new(channel, external_id, province)
            reply = self.reply_for(conv, text, chosen_entry)
            done = self.record_turn(session, conv, text, reply, platform_message_id)
            session.commit()
            return done

    def reply_for(self, conv: models.Conversation, text: str, chosen_entry: str | None = None) -> Reply:
        """The bot's reply to `text` in the context of the conversation's previous turn."""
        rt = self.runtime
        timer = metrics.Timer()
        turn = Turn(entry_id=conv.last_entry_id, text=conv.last_text, choices=list(conv.last_choices or []),
                    suggested=bool(conv.last_choices_suggested))
        province = rt.provinces.get(conv.province)
        reply = None
        if chosen_entry:
            reply = rt.engine.answer_choice(chosen_entry, day=rt.settings.today(), province=province)
        if reply is None and len(text) > rt.settings.max_message_chars:  # a letter, not a question: staff read it
            reply = rt.engine.escalate(f"tin nhắn dài hơn {rt.settings.max_message_chars} ký tự, cần cán bộ đọc",
                                       province)
        if reply is None:
            reply = rt.engine.answer(text, turn, day=rt.settings.today(), province=province)
        metrics.reply_computed(timer.seconds)
        return reply

    def record_turn(self, session: Session, conv: models.Conversation, text: str, reply: Reply,
                    platform_message_id: str | None = None, now: dt.datetime | None = None) -> Handled:
        """Store the citizen's message, the bot's reply, any escalation and the new context (no commit)."""
        now = now or self.policy.clock()
        if conv.id is None:
            session.add(conv)
            session.flush()
        conv_id = models.saved_id(conv)
        inbound = models.Message(conversation_id=conv_id, direction=Direction.IN, author=Author.CITIZEN, text=text,
                                 created_at=now, outcome=reply.outcome, entry_id=reply.entry_id,
                                 score=round(reply.score, 4), candidates=reply.candidates,
                                 scores={"details": reply.details, "reason": reply.reason,
                                         "used_context": reply.used_context})
        session.add(inbound)
        session.add(models.Message(conversation_id=conv_id, direction=Direction.OUT, author=Author.BOT, text=reply.text,
                                   created_at=now, outcome=reply.outcome, entry_id=reply.entry_id))
        escalation = None
        if reply.outcome in (ESCALATED, HANDOFF):
            session.flush()  # the escalation points at the citizen's message
            escalation = models.Escalation(conversation_id=conv_id, message_id=models.saved_id(inbound), kind=reply.outcome,
                                           reason=reply.reason[:200], province=conv.province or "default")
            session.add(escalation)
            session.flush()  # staff see it, and a failed send is recorded on it, by id
            # staff take it from here: the bot stays silent until released or the quiet time passes
            self.policy.hold_for_staff(conv, now)
        if reply.outcome in (ANSWERED, CLARIFY) or (reply.outcome == ESCALATED and reply.choices):
            # an escalation's suggestions can be picked while staff hold the conversation (app.delivery.answering)
            nxt = reply.next_turn(text)
            conv.last_entry_id, conv.last_text, conv.last_choices = nxt.entry_id, nxt.text, nxt.choices
            conv.last_choices_suggested = nxt.suggested
        elif reply.outcome != SMALLTALK:
            conv.last_entry_id, conv.last_text, conv.last_choices = None, None, []
            conv.last_choices_suggested = False
        conv.updated_at = now
        self.policy.citizen_wrote(conv, platform_message_id, now)
        session.add(conv)
        metrics.answered(conv.channel, reply.outcome)
        return Handled(reply, conv_id, inbound, escalation)
