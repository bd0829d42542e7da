"""pixelab studio: a local web page to gather images, train with one button, try the model, look
inside it, probe it, and compare, export and resume its runs.

The studio is a thin face over the same Python API as the command line: a project is a plain
folder (``images/<class>/<file>``, ``runs/<run>/``, ``studio.sqlite``), training calls
:func:`pixelab.apps.transfer.transfer_train` (or ``train_cnn``, ``run_classic``; resuming the
same with ``--resume``'s functions), predictions load the run like ``pixelab predict``,
a confusion cell's images come from the run's ``predictions.csv``, explanations from
:func:`pixelab.apps.explain.explain_image`, the sliders from :func:`pixelab.robust.change`,
the challenge suite from :func:`pixelab.apps.robust.robust_challenges`, two runs side by side
from :func:`pixelab.apps.cnn.compare_runs` and the ONNX export from
:func:`pixelab.apps.cnn.export_run`.
Nothing here imports FastAPI at import time: :func:`pixelab.studio.app.create_app` does.

Layout: :mod:`~pixelab.studio.project` (the folder, names, uploads, the SQLite index; no web
code), :mod:`~pixelab.studio.jobs` (the one background job per project: a training, a resumed
training or a challenge suite),
:mod:`~pixelab.studio.security` (the one dependency every route goes through: Host header and
start token), :mod:`~pixelab.studio.api` (one router per area) and
:mod:`~pixelab.studio.server` (uvicorn on 127.0.0.1, for ``pixelab studio``).
"""
