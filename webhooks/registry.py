"""The platforms this service speaks, and each province's channels on them.

The generic webhook route (app/api.py) serves every registered adapter at /webhooks/<path>; the
outbox (app/delivery.py) sends through the channels `build_channels` makes. Adding a platform is a
module beside zalo.py and messenger.py and one line in `ADAPTERS` (docs/channels.md, "Adding a
platform").
"""

from __future__ import annotations

from webhooks.base import Channel, Host
from webhooks.messenger import MessengerChannel
from webhooks.zalo import ZaloChannel

ADAPTERS: dict[str, type[Channel]] = {adapter.name: adapter for adapter in (ZaloChannel, MessengerChannel)}


def register(adapter: type[Channel]) -> type[Channel]:
    """Serve another platform (from the next `build_channels` and app on); its name and path must be new."""
    for other in ADAPTERS.values():
        if adapter.name == other.name or adapter.path == other.path:
            raise ValueError(f"channel {adapter.name} (/webhooks/{adapter.path}) clashes with {other.name} "
                             f"(/webhooks/{other.path})")
    ADAPTERS[adapter.name] = adapter
    return adapter


def unregister(name: str) -> None:
    ADAPTERS.pop(name, None)


def adapters() -> list[type[Channel]]:
    """The registered adapters, in the order they were registered."""
    return list(ADAPTERS.values())


def build_channels(host: Host) -> dict[str, dict[str, Channel]]:
    """Each province's channels by name, each with the province's own credentials."""
    return {province.code: {adapter.name: adapter.build(host, province) for adapter in adapters()}
            for province in host.provinces}
