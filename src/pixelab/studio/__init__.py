"""pixelab studio: a local web page to gather images, train with one button and try the model.

The studio is a thin face over the same Python API as the command line: a project is a plain
folder (``images/<class>/<file>``, ``runs/<run>/``, ``studio.sqlite``), training calls
:func:`pixelab.apps.transfer.transfer_train`, predictions load the run like ``pixelab predict``.
Nothing here imports FastAPI at import time: :func:`pixelab.studio.app.create_app` does.

Layout: :mod:`~pixelab.studio.project` (the folder, names, uploads, the SQLite index; no web
code), :mod:`~pixelab.studio.jobs` (the one background training per project),
:mod:`~pixelab.studio.security` (the one dependency every route goes through: Host header and
start token), :mod:`~pixelab.studio.api` (one router per area) and
:mod:`~pixelab.studio.server` (uvicorn on 127.0.0.1, for ``pixelab studio``).
"""
