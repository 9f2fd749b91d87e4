"""Provinces (tenants): one deployment can serve several provincial offices, each with its own Zalo OA
and Facebook Page, office details and local parameter values, and staff who see only their province.

With no PROVINCES_FILE the deployment is one province, `default`, built from the flat ZALO_* / FB_*
settings and knowledge_base/office.yaml, and behaves exactly as a single-province service.

A provinces file (reviewed, in git) declares each province's public facts: code, name, office
details, Zalo OA id and Facebook Page id. Secrets come only from the environment, per province:
PROVINCE__<CODE>__ZALO_OA_SECRET_KEY and so on (app.settings.ProvinceSecrets).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from app.knowledge import Office, load_yaml
from app.settings import ProvinceSecrets, Settings

log = logging.getLogger(__name__)

DEFAULT = "default"
CODE_RE = re.compile(r"^[a-z][a-z0-9]{1,14}$")  # fits "zalo:<code>" in channel_token.channel (20)
OFFICE_FIELDS = {f.name for f in fields(Office)}


class ProvinceError(ValueError):
    pass


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    # None: the knowledge base's office.yaml (the default province); otherwise from the provinces file
    office: Office | None = None
    zalo_oa_id: str = ""
    fb_page_id: str = ""
    # credentials (the channels read these names)
    zalo_app_id: str = ""
    zalo_oa_secret_key: str = ""
    zalo_app_secret: str = ""
    zalo_access_token: str = ""
    zalo_refresh_token: str = ""
    fb_app_id: str = ""
    fb_app_secret: str = ""
    fb_page_access_token: str = ""

    @property
    def scope(self) -> str:
        """The key of this province's own parameter values ("" = national values only)."""
        return "" if self.code == DEFAULT else self.code

    @property
    def zalo_enabled(self) -> bool:
        return bool(self.zalo_app_id and self.zalo_oa_secret_key)

    @property
    def messenger_enabled(self) -> bool:
        return bool(self.fb_app_secret and self.fb_page_access_token)

    def env_name(self, name: str) -> str:
        return f"PROVINCE__{self.code.upper()}__{name.upper()}"


NATIONAL = Province(code=DEFAULT, name="")  # national values, the knowledge base's office.yaml, no channels


class Provinces:
    """The configured provinces, looked up by code or by a channel account (Zalo OA id, Facebook Page id)."""

    def __init__(self, provinces: list[Province], single: bool):
        self.all = {p.code: p for p in provinces}
        self.single = single  # no provinces file: everything belongs to `default`

    def __iter__(self):
        return iter(self.all.values())

    def get(self, code: str | None) -> Province:
        """The province of a stored row. `default` (API and command-line conversations) and a code no
        longer in the file are answered with the national values and office.yaml; a removed province's
        replies are not sent (no credentials), which shows on the outbox."""
        province = self.all.get(code or DEFAULT)
        if province is not None:
            return province
        if code not in (None, "", DEFAULT):
            log.warning("province %r is not in the provinces file: answering with the national values", code)
        return NATIONAL

    def known(self, code: str) -> Province:
        """A configured province, or ProvinceError naming the configured codes."""
        if code not in self.all:
            raise ProvinceError(f"unknown province '{code}' (configured: {', '.join(self.all)})")
        return self.all[code]

    def by_account(self, field: str, account: str) -> Province | None:
        """The province whose channel account is `account`: its attribute `field` (a channel's
        `account_field`: zalo_oa_id, fb_page_id) holds it. Without a provinces file, `default`."""
        if self.single:
            return self.all[DEFAULT]
        return next((p for p in self.all.values() if account and getattr(p, field, "") == account), None)

    def codes(self) -> list[str]:
        return list(self.all)

    def labels(self) -> dict[str, str]:
        return {p.code: p.name for p in self}


def _single(settings: Settings) -> Provinces:
    s = settings
    return Provinces([Province(
        code=DEFAULT, name="", office=None,
        zalo_app_id=s.zalo_app_id, zalo_oa_secret_key=s.zalo_oa_secret_key, zalo_app_secret=s.zalo_app_secret,
        zalo_access_token=s.zalo_access_token, zalo_refresh_token=s.zalo_refresh_token,
        fb_app_id=s.fb_app_id, fb_app_secret=s.fb_app_secret, fb_page_access_token=s.fb_page_access_token,
    )], single=True)


def parse(data: Any, settings: Settings, origin: str) -> tuple[Provinces | None, list[str]]:
    """Provinces from the file's mapping, with every error found (each naming the province and field)."""
    errors: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("provinces"), list) or not data["provinces"]:
        return None, [f"{origin}: expected 'provinces:' with a list of provinces"]
    provinces: list[Province] = []
    oas: dict[str, str] = {}
    pages: dict[str, str] = {}
    for i, item in enumerate(data["provinces"]):
        where = f"{origin}: provinces[{i}]"
        if not isinstance(item, dict):
            errors.append(f"{where}: expected a mapping")
            continue
        code = str(item.get("code") or "")
        if not CODE_RE.match(code) or code == DEFAULT:
            errors.append(f"{where}.code: {code!r} must be 2-15 lower-case letters or digits, starting with a "
                          f"letter (not '{DEFAULT}')")
            continue
        where = f"{origin}: province {code}"
        if code in {p.code for p in provinces}:
            errors.append(f"{where}: code declared twice")
            continue
        unknown = set(item) - {"code", "name", "office", "zalo_oa_id", "fb_page_id"}
        if unknown:
            errors.append(f"{where}: unknown fields {sorted(unknown)}")
        name = str(item.get("name") or "").strip()
        if not name:
            errors.append(f"{where}.name: missing")
        office_data = item.get("office") or {}
        if not isinstance(office_data, dict):
            errors.append(f"{where}.office: expected a mapping of {sorted(OFFICE_FIELDS)}")
            office_data = {}
        bad = set(office_data) - OFFICE_FIELDS
        if bad:
            errors.append(f"{where}.office: unknown fields {sorted(bad)} (allowed: {sorted(OFFICE_FIELDS)})")
        office = Office(**{k: str(v) for k, v in office_data.items() if k in OFFICE_FIELDS and v})
        if "name" not in office_data:
            office.name = name
        oa = str(item.get("zalo_oa_id") or "").strip()
        page = str(item.get("fb_page_id") or "").strip()
        for value, seen, label in ((oa, oas, "zalo_oa_id"), (page, pages, "fb_page_id")):
            if value and value in seen:
                errors.append(f"{where}.{label}: {value} is also the {label} of province {seen[value]}")
            elif value:
                seen[value] = code
        secrets = settings.province.get(code) or ProvinceSecrets()
        province = Province(
            code=code, name=name, office=office, zalo_oa_id=oa, fb_page_id=page,
            zalo_app_id=secrets.zalo_app_id or settings.zalo_app_id,
            zalo_oa_secret_key=secrets.zalo_oa_secret_key,
            zalo_app_secret=secrets.zalo_app_secret or settings.zalo_app_secret,
            zalo_access_token=secrets.zalo_access_token, zalo_refresh_token=secrets.zalo_refresh_token,
            fb_app_id=secrets.fb_app_id or settings.fb_app_id,
            fb_app_secret=secrets.fb_app_secret or settings.fb_app_secret,
            fb_page_access_token=secrets.fb_page_access_token,
        )
        if oa:  # the Zalo channel is enabled for this province: it needs its secrets
            missing = [province.env_name(n) for n in ("zalo_oa_secret_key", "zalo_access_token", "zalo_refresh_token")
                       if not getattr(province, n)]
            missing += [f"{province.env_name(n)} or {n.upper()}" for n in ("zalo_app_id", "zalo_app_secret")
                        if not getattr(province, n)]
            if missing:
                errors.append(f"{where}: zalo_oa_id is set but these secrets are missing from the environment: "
                              + ", ".join(missing))
        if page:
            missing = [] if province.fb_page_access_token else [province.env_name("fb_page_access_token")]
            missing += [] if province.fb_app_secret else [f"{province.env_name('fb_app_secret')} or FB_APP_SECRET"]
            if missing:
                errors.append(f"{where}: fb_page_id is set but these secrets are missing from the environment: "
                              + ", ".join(missing))
        provinces.append(province)
    for code in sorted(set(settings.province) - {p.code for p in provinces}):
        errors.append(f"environment: PROVINCE__{code.upper()}__... is set but province '{code}' is not declared "
                      f"in {origin}")
    return (Provinces(provinces, single=False) if not errors else None), errors


def contact_warnings(provinces: Provinces, default_office: Office) -> list[str]:
    """The unfilled office contact fields, per province (the default province's office is office.yaml)."""
    from app.knowledge import contact_warnings as office_warnings

    out = []
    for province in provinces:
        if province.office is None:
            out += office_warnings(default_office, "office.yaml")
        else:
            out += office_warnings(province.office, f"province {province.code}")
    return out


def load(settings: Settings) -> tuple[Provinces | None, list[str]]:
    """The deployment's provinces and the errors in their configuration (None when there are any)."""
    path = settings.provinces_file
    if path is None:
        if settings.province:
            return None, [f"environment: PROVINCE__{sorted(settings.province)[0].upper()}__... is set but "
                          "PROVINCES_FILE is not"]
        return _single(settings), []
    path = Path(path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return None, [f"{path}: cannot be read: {exc.strerror}"]
    except yaml.YAMLError as exc:
        return None, [f"{path}: not valid YAML: {exc}"]
    return parse(data, settings, str(path))


def load_or_fail(settings: Settings) -> Provinces:
    provinces, errors = load(settings)
    if errors or provinces is None:
        raise ProvinceError("the provinces configuration has errors:\n" + "\n".join(errors))
    return provinces
