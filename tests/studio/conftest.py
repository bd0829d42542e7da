"""Studio tests: a private cache for the pretrained backbone, a client on a fresh project."""

from __future__ import annotations

import pytest

from tests.studio.helpers import make_client


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """The backbone's converted weights and the embedding cache: private, never the user's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIXELAB_CACHE", str(tmp_path_factory.mktemp("pixelab-cache")))
        yield


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path / "project") as c:
        yield c
        c.app.state.studio.jobs.wait(120)
