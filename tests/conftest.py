"""Shared pytest fixtures: the Hub emulator over the fixture corpus (tests/fixtures/hub)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cardscan.testing.hub import HubEmulator

CORPUS = Path(__file__).parent / "fixtures" / "hub"


@pytest.fixture(scope="session")
def hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubEmulator]:
    """One emulator (hub + cdn origins on ephemeral ports) for the whole session."""
    with HubEmulator(CORPUS, cache_dir=tmp_path_factory.mktemp("emulator-cache")) as emu:
        yield emu


@pytest.fixture
def hub(hub_server: HubEmulator) -> Iterator[HubEmulator]:
    """The session emulator with a clean log and no knobs set; knobs set by the test are cleared after it."""
    hub_server.reset()
    yield hub_server
    hub_server.reset()
