"""Console users, passwords (argon2id), server-side sessions, CSRF tokens, login throttling and
the audit log. Shared by the web console and the `bhxh-bot users` command."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import models
from app.models import utcnow
from app.provinces import ProvinceError, Provinces
from app.settings import Settings
from app.windows import aware

ROLES = ("staff", "admin")
MIN_PASSWORD = 10
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# verified against when the e-mail is unknown, so a wrong e-mail takes as long as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class UserError(ValueError):
    """Bad input for a user; the message is Vietnamese, for the person who typed it."""


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_new_user(email: str, role: str, password: str) -> str:
    email = normalize_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise UserError("Địa chỉ e-mail không hợp lệ.")
    if role not in ROLES:
        raise UserError("Vai trò phải là staff (cán bộ) hoặc admin (quản trị).")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.")
    return email


def check_province(provinces: Provinces, code: str | None) -> str | None:
    """A user's province as chosen: None (every province) or a configured province's code. The check is
    `Provinces.known`, the one `bhxh-bot users add --province` makes; here its refusal is in Vietnamese."""
    if code is None:
        return None
    try:
        return provinces.known(code).code
    except ProvinceError:
        raise UserError(f"Không có tỉnh '{code}' trong danh sách tỉnh đã cấu hình "
                        f"({', '.join(provinces.codes())}).") from None


# --- audit log ---------------------------------------------------------------------------


def audit(session: Session, actor: models.User | None, action: str, target: str = "",
          changes: dict[str, Any] | None = None, actor_name: str = "") -> None:
    """Add an audit record to the session; it is committed with the change it describes."""
    session.add(models.AuditLog(actor_id=actor.id if actor else None, actor=actor.email if actor else (actor_name or "cli"),
                                action=action, target=target, changes=changes or {}))


# --- users ---------------------------------------------------------------------------------


def create_user(db: Engine, email: str, role: str, password: str, actor: models.User | None = None,
                actor_name: str = "cli", province: str | None = None) -> models.User:
    """`province`: the province whose conversations the user sees (None: every province). A user made
    by a province's admin always belongs to that province."""
    email = check_new_user(email, role, password)
    if actor is not None and actor.province is not None:
        province = actor.province
    with Session(db) as session:
        if session.exec(select(models.User).where(models.User.email == email)).first() is not None:
            raise UserError(f"Đã có người dùng {email}.")
        user = models.User(email=email, role=role, password_hash=hash_password(password), province=province)
        session.add(user)
        session.flush()
        audit(session, actor, "user.create", email, {"role": role, "active": True, "province": province},
              actor_name=actor_name)
        session.commit()
        session.refresh(user)
        return user


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()  # update_user: leave the user's province as it is (None means every province)


def update_user(db: Engine, user_id: int, actor: models.User | None, role: str | None = None,
                active: bool | None = None, password: str | None = None, province: str | None | _Keep = KEEP,
                provinces: Provinces | None = None, actor_name: str = "cli") -> models.User:
    """Change a user. `actor` None: the command line (`actor_name` in the audit log). A new `province`
    (None: every province) must be one of `provinces` (check_province), and only an admin of every
    province may change it. Leaving it as it is never checks it, so a user of a province since removed
    from the file can still get another role or password."""
    with Session(db) as session:
        user = session.get(models.User, user_id)
        if user is None:
            raise UserError("Không có người dùng này.")
        changes: dict[str, Any] = {}
        if role is not None and role != user.role:
            if role not in ROLES:
                raise UserError("Vai trò phải là staff (cán bộ) hoặc admin (quản trị).")
            changes["role"] = [user.role, role]
            user.role = role
        if active is not None and active != user.active:
            changes["active"] = [user.active, active]
            user.active = active
        if not isinstance(province, _Keep) and province != user.province:
            if actor is not None and (actor.role != "admin" or actor.province is not None):
                raise UserError("Chỉ quản trị viên cấp toàn quốc (mọi tỉnh) mới được đổi tỉnh của người dùng.")
            if provinces is None:
                raise ValueError("a new province is checked against the configured provinces")
            province = check_province(provinces, province)
            changes["province"] = [user.province, province]
            user.province = province
        if password:
            if len(password) < MIN_PASSWORD:
                raise UserError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.")
            user.password_hash = hash_password(password)
            changes["password"] = "changed"
        if actor is not None and user.id == actor.id:
            if user.role != "admin" or not user.active:
                raise UserError("Không thể tự bỏ quyền quản trị hoặc tự khoá tài khoản của mình.")
            if "province" in changes:
                raise UserError("Không thể tự đổi tỉnh của tài khoản mình; hãy nhờ một quản trị viên cấp toàn quốc khác.")
        if not changes:
            return user
        session.add(user)
        if "active" in changes and not user.active or "password" in changes:
            session.exec(delete(models.StaffSession).where(col(models.StaffSession.user_id) == user.id))
        # a new province needs nothing more: every request loads the user afresh (current), so the
        # user's open sessions see the new scope from their next request
        audit(session, actor, "user.update", user.email, changes, actor_name=actor_name)
        session.commit()
        session.refresh(user)
        return user


def find_user(db: Engine, email: str) -> models.User:
    email = normalize_email(email)
    with Session(db) as session:
        user = session.exec(select(models.User).where(models.User.email == email)).first()
    if user is None:
        raise UserError(f"Không có người dùng {email}.")
    return user


def list_users(db: Engine) -> list[models.User]:
    with Session(db) as session:
        return list(session.exec(select(models.User).order_by(models.User.email)))


def audit_entries(db: Engine, limit: int = 200) -> list[models.AuditLog]:
    with Session(db) as session:
        return list(session.exec(select(models.AuditLog).order_by(col(models.AuditLog.id).desc()).limit(limit)))


# --- login, throttling, sessions ---------------------------------------------------------------


def wait_label(seconds: float) -> str:
    """A wait as staff read it: "45 giây", "2 phút", "1 phút 30 giây"."""
    seconds = max(1, math.ceil(seconds))
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return f"{rest} giây"
    return f"{minutes} phút {rest} giây" if rest else f"{minutes} phút"


class Throttled(RuntimeError):
    """Too many failed logins lately: try again after `seconds` (never a lock: the wait grows with
    each further failure, up to LOGIN_MAX_DELAY_SECONDS, and failures are forgotten after the window)."""

    def __init__(self, seconds: float):
        self.seconds = max(1, math.ceil(seconds))
        super().__init__(f"Đăng nhập sai nhiều lần. Vui lòng chờ {wait_label(self.seconds)} rồi thử lại.")


@dataclass
class LoggedIn:
    user: models.User
    token: str  # goes into the cookie; only its hash is stored
    csrf_token: str
    device: str = ""  # the browser's device token for this account (device_token)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def device_token(user: models.User) -> str:
    """Proof that this browser logged in to `user` before: a MAC of the e-mail keyed with the user's
    password hash (secret to the server; a new password makes old tokens worthless). A browser with
    it is not slowed down by failures other people caused on the account (only by its address's)."""
    mac = hmac.new(user.password_hash.encode(), b"device:" + user.email.encode(), hashlib.sha256).hexdigest()
    return f"{user.id}.{mac}"


def _known_device(session: Session, email: str, device: str | None) -> bool:
    if not device or "." not in device:
        return False
    user = session.exec(select(models.User).where(models.User.email == email)).first()
    return user is not None and hmac.compare_digest(device_token(user).encode(), device.encode())


def _delay(settings: Settings, failures: int, free: int) -> float:
    """Seconds to wait after the last failure: none for the first `free` failures, then
    LOGIN_DELAY_SECONDS, doubling with each further one, at most LOGIN_MAX_DELAY_SECONDS."""
    if failures < free:
        return 0.0
    return min(settings.login_max_delay_seconds, settings.login_delay_seconds * 2 ** min(failures - free, 30))


def throttle_wait(session: Session, settings: Settings, email: str, ip: str, known_device: bool = False,
                  now: dt.datetime | None = None) -> float:
    """Seconds before this e-mail may try again from this address (0: now). Failures count per address
    (any e-mail) and per e-mail (any address; not for a browser that logged in to it before), within
    LOGIN_WINDOW_MINUTES."""
    now = now or utcnow()
    since = now - dt.timedelta(minutes=settings.login_window_minutes)
    table = models.LoginFailure
    keys = [(table.ip == ip, settings.login_max_failures_per_ip)]
    if not known_device:
        keys.append((table.email == email, settings.login_max_failures))
    wait = 0.0
    for where, free in keys:
        n, last = session.exec(select(func.count(), func.max(table.at)).where(where, table.at > since)).one()
        delay = _delay(settings, n, free)
        if delay and last is not None:
            wait = max(wait, (aware(last) + dt.timedelta(seconds=delay) - now).total_seconds())
    return max(0.0, wait)


def login(db: Engine, settings: Settings, email: str, password: str, ip: str, device: str | None = None) -> LoggedIn | None:
    """A new session for the right e-mail and password; None when they are wrong; Throttled while a
    delay from earlier failures for this address or this e-mail runs (even with the right password).
    `device`: the browser's device token (device_token) from an earlier login, if any."""
    email = normalize_email(email)[:254]
    ip = (ip or "")[:64]
    with Session(db) as session:
        wait = throttle_wait(session, settings, email, ip, _known_device(session, email, device))
        if wait > 0:
            raise Throttled(wait)
        user = session.exec(select(models.User).where(models.User.email == email)).first()
        ok = False
        try:
            ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None or not user.active:
            session.add(models.LoginFailure(email=email, ip=ip))
            session.commit()
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        # the user's own mistakes are forgotten; a stranger's failures elsewhere keep slowing down new browsers
        session.exec(delete(models.LoginFailure).where(col(models.LoginFailure.email) == email,
                                                       col(models.LoginFailure.ip) == ip))
        now = utcnow()
        session.exec(delete(models.StaffSession).where(col(models.StaffSession.expires_at) < now))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session.add(models.StaffSession(token_hash=_token_hash(token), user_id=models.saved_id(user), csrf_token=csrf, ip=ip,
                                        expires_at=now + dt.timedelta(hours=settings.console_session_hours)))
        user.last_login_at = now
        session.add(user)
        session.commit()
        session.refresh(user)
        return LoggedIn(user, token, csrf, device_token(user))


def login_waits(db: Engine, settings: Settings) -> dict[str, float]:
    """Per e-mail with failed logins in the window: the seconds before it may log in again from a new
    browser (0: now), for the users page."""
    now = utcnow()
    since = now - dt.timedelta(minutes=settings.login_window_minutes)
    table = models.LoginFailure
    waits = {}
    with Session(db) as session:
        rows = session.exec(select(table.email, func.count(), func.max(table.at)).where(table.at > since)
                            .group_by(table.email)).all()
    for email, n, last in rows:
        delay = _delay(settings, n, settings.login_max_failures)
        waits[email] = max(0.0, (aware(last) + dt.timedelta(seconds=delay) - now).total_seconds()) if delay else 0.0
    return waits


def unlock(db: Engine, email: str, actor: models.User | None = None, actor_name: str = "cli") -> int:
    """Forget the failed logins for this e-mail (an admin's unlock); returns how many there were."""
    user = find_user(db, email)
    with Session(db) as session:
        n = session.exec(delete(models.LoginFailure).where(col(models.LoginFailure.email) == user.email)).rowcount
        audit(session, actor, "user.unlock", user.email, {"failures": n}, actor_name=actor_name)
        session.commit()
    return n


@dataclass
class Current:
    user: models.User
    csrf_token: str
    token_hash: str

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    @property
    def user_id(self) -> int:
        """The logged-in user's id (a stored row's, never None)."""
        return models.saved_id(self.user)


def current(db: Engine, token: str | None) -> Current | None:
    if not token:
        return None
    with Session(db) as session:
        row = session.get(models.StaffSession, _token_hash(token))
        if row is None or aware(row.expires_at) < utcnow():
            return None
        user = session.get(models.User, row.user_id)
        if user is None or not user.active:
            return None
        return Current(user, row.csrf_token, row.token_hash)


def logout(db: Engine, token: str | None) -> None:
    if not token:
        return
    with Session(db) as session:
        session.exec(delete(models.StaffSession).where(col(models.StaffSession.token_hash) == _token_hash(token)))
        session.commit()


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())
