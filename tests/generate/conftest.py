"""Generative tests train their judges once per session into a private cache, never the
user's. Session-scoped and apart from each test's ``monkeypatch``, so a test that undoes its
own patches (after a simulated Ctrl-C) keeps the private cache."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIXELAB_CACHE", str(tmp_path_factory.mktemp("pixelab-cache")))
        yield
