"""What people watch: the race page server (`spectator.page`) and the watcher (`tumble watch`)."""

from __future__ import annotations

__all__: list[str] = []
