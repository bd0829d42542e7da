"""Transfer tests convert the pretrained weights into a private cache, never the user's."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIXELAB_CACHE", str(tmp_path_factory.mktemp("pixelab-cache")))
        yield
