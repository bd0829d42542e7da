"""The one job a project runs at a time, in a background thread: a training or a challenge suite.

A training calls :func:`pixelab.apps.transfer.transfer_train` (or, for ``kind="cnn"``,
:func:`pixelab.apps.cnn.train_cnn`: a small CNN from scratch; for ``kind="classic"``,
:func:`pixelab.apps.run_classic` with HOG features) with the project's ``images/`` folder and a
new folder under ``runs/``; resuming calls ``train_cnn(resume=True)`` or
:func:`pixelab.apps.transfer.resume_transfer` on an interrupted run's folder; a challenge suite
calls :func:`pixelab.apps.robust.robust_challenges` on a finished run, writing
``runs/<run>/challenges/``. Each gets a progress callback that records where it is (read by the
page through Server-Sent Events; at each new epoch also the history the training checkpointed,
for the live curves) and raises ``KeyboardInterrupt`` once a cancel was asked for: the app stops
the way Ctrl-C stops the command line (a linear probe or a classic run leaves no folder, a
probe's finished embeddings stay cached; a finetuning or a CNN keeps its checkpoints, which
Resume continues; a suite keeps its finished challenges). Closing the browser does not stop a
job: it belongs to the studio process, not to the page; a studio stopped mid-training leaves
the same checkpoints.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pixelab._core.config import flag
from pixelab._core.errors import PixelabError
from pixelab.studio.project import Project, StudioError, challenge_summary, run_summary

#: What can be trained: transfer learning (``pixelab transfer train``), a CNN from scratch
#: (``pixelab cnn train``) or the classic HOG pipeline (``pixelab classic train``, see
#: :data:`CLASSIC`).
KINDS = ("transfer", "cnn", "classic")
#: The kinds in the page's words.
NAMES = {"transfer": "transfer learning", "cnn": "a CNN from scratch",
         "classic": "the classic HOG pipeline"}  # fmt: skip
#: The options each kind takes, with their defaults (the CLI's, but for the image side).
DEFAULTS: dict[str, dict[str, Any]] = {
    "transfer": {"mode": "probe", "size": 224, "test_size": 0.2, "epochs": 10, "seed": 0},
    "cnn": {"size": 64, "test_size": 0.2, "epochs": 10, "seed": 0},  # the folder loader's side
    "classic": {"size": 64, "test_size": 0.2, "seed": 0},
}
#: The options each kind takes besides those with defaults.
OPTIONAL = {"transfer": ("limit", "lr", "device", "batch_size"),
            "cnn": ("limit", "lr", "device", "batch_size", "augment", "val_fraction"),
            "classic": ("limit",)}  # fmt: skip
#: The classic pipeline the studio trains: ``pixelab classic train``'s features (HOG, which
#: sees edges and shapes, with the raw pixels, which keep brightness and filled areas) and a
#: logistic regression, which gives probabilities (Try's bars) as transfer learning's head does
#: on learned features.
CLASSIC = {"features": "hog+pixels", "classifier": "logreg"}
#: The other kind of job: the challenge suite on a finished run (``pixelab robust
#: challenges``), and the folder of that run it writes to.
CHALLENGES = "challenges"
#: The smallest image side the pretrained backbone takes.
TRANSFER_MIN_SIZE = 32
#: What the page calls the options in its messages.
LABELS = {"augment": "augmentation", "val_fraction": "validation share",
          "test_size": "test share", "batch_size": "batch size", "lr": "learning rate"}  # fmt: skip


def options_of(kind: str) -> set[str]:
    """Every option ``kind`` takes."""
    return set(DEFAULTS[kind]) | set(OPTIONAL[kind])


def check_options(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """The page's training options with the defaults of ``kind`` filled in.

    An unknown option, or one only other kinds have, is an error (422); so are values the app
    would refuse only once its thread has started (a CNN's augmentation policy, no test
    images to report on, an image too small for the backbone): the page hears about them at once, in the
    page's words, instead of reading a failed job."""
    known = options_of(kind)
    given = {k: v for k, v in options.items() if v is not None}
    unknown = []
    for option in sorted(set(options) - known):
        others = [NAMES[k] for k in KINDS if option in options_of(k)]
        if not others:
            unknown.append(option)
        elif option in given:
            unknown.append(f"{option} ({' or '.join(others)} only)")
    if unknown:
        raise StudioError(f"unknown training option(s) for {kind}: {', '.join(unknown)}",
                          status=422, hint=f"known: {', '.join(sorted(known))}")  # fmt: skip
    options = {**DEFAULTS[kind], **{k: v for k, v in given.items() if k in known}}
    if kind == "transfer" and options["size"] < TRANSFER_MIN_SIZE:
        raise StudioError(f"image size {options['size']} is too small for transfer learning",
                          status=422, hint=f"choose {TRANSFER_MIN_SIZE} px or more")  # fmt: skip
    needs_test = kind != "transfer" or options.get("mode") == "finetune"
    if needs_test and not options["test_size"] > 0:
        what = "finetuning" if kind == "transfer" else NAMES[kind]
        raise StudioError(f"test share must be above 0 for {what}", status=422,
                          hint="0.2 keeps a fifth of the images apart to measure accuracy")  # fmt: skip
    if kind == "cnn":
        _check_cnn(options)
    if kind == "classic":
        from pixelab.train import ClassicConfig

        _in_page_words(lambda: ClassicConfig(data="images", **CLASSIC, **options).check())
    return options


def _check_cnn(options: dict[str, Any]) -> None:
    """A CNN's options checked the way ``cnn train`` checks them, before any thread starts."""
    from pixelab.train import CNNConfig

    if options["test_size"] + options.get("val_fraction", 0) * (1 - options["test_size"]) > 0.9:
        raise StudioError("test and validation shares leave under a tenth of the images to "
                          "train on", status=422, hint="lower one of them")  # fmt: skip
    _in_page_words(lambda: CNNConfig(data="images", **options).check())


def _in_page_words(check: Callable[[], Any]) -> None:
    """Run a config's ``check``; its error becomes a 422 in the page's words (the command
    line's flag names replaced by the settings' labels)."""
    try:
        check()
    except PixelabError as err:
        message = err.message
        for name, label in LABELS.items():
            message = message.replace(flag(name), label)
        raise StudioError(message, status=422, hint=err.hint) from None


class Job:
    """One training: its options, its state and where it is (thread-safe snapshots)."""

    def __init__(self, kind: str, run: str, options: dict[str, Any]) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.kind, self.run, self.options = kind, run, options
        self.status = "running"
        self.task, self.done, self.total = "starting", 0, 0
        self.message: str | None = None
        self.result: dict[str, Any] | None = None
        self.history: list[dict[str, Any]] = []  # a training's epochs so far
        self.started, self.finished = time.time(), None
        self.version = 0  # bumped on every change; the event stream sends when it moves
        self.cancel_asked = threading.Event()
        self._lock = threading.Lock()

    def update(self, **changes: Any) -> None:
        with self._lock:
            for k, v in changes.items():
                setattr(self, k, v)
            self.version += 1

    @property
    def active(self) -> bool:
        return self.status == "running"

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "id": self.id, "kind": self.kind, "run": self.run, "options": self.options,
                "status": self.status, "task": self.task, "done": self.done, "total": self.total,
                "message": self.message, "result": self.result, "started": self.started,
                "finished": self.finished, "version": self.version,
                "cancel_asked": self.cancel_asked.is_set(), "history": self.history,
                "accuracy": (self.result or {}).get("accuracy"),
            }  # fmt: skip


class JobManager:
    """Starts, tracks and cancels a project's jobs (trainings, challenge suites); refuses a
    second while one runs."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._current: Job | None = None
        self._thread: threading.Thread | None = None

    def current(self) -> Job | None:
        job = self._current
        return job if job is not None and job.active else None

    def start(self, kind: str, options: dict[str, Any]) -> Job:
        """Start a training of ``kind`` (transfer, cnn or classic) into a new run folder."""
        if kind not in KINDS:
            raise StudioError(f"unknown training kind {kind!r}", status=422,
                              hint=f"choose one of: {', '.join(KINDS)}")  # fmt: skip
        options = check_options(kind, options)
        return self._launch(kind, lambda: self.project.new_run_name(kind), options)

    def start_challenges(self, run: str, options: dict[str, Any]) -> Job:
        """Start the challenge suite (``pixelab robust challenges``) on the finished run ``run``
        with the project's images: its test images where the run lists them. The result goes
        to ``runs/<run>/challenges/``, a robust-challenges run folder."""
        from pixelab.robust import FAMILIES

        summary = run_summary(self.project.run_path(run))
        if summary.get("kind") == "classic":
            raise StudioError(f"run {run} is the classic HOG pipeline: the challenge suite "
                              "measures neural networks (transfer learning or a CNN)",
                              hint="pick a transfer-learning or CNN run")  # fmt: skip
        if not summary.get("network"):
            raise StudioError(f"run {run} has no trained model to measure",
                              hint="pick a finished training")  # fmt: skip
        unknown = [f for f in options.get("families") or () if f not in FAMILIES]
        if unknown:
            raise StudioError(f"unknown challenge {unknown[0]!r}", status=422,
                              hint=f"choose from: {', '.join(FAMILIES)}")  # fmt: skip
        return self._launch(CHALLENGES, lambda: run, options)

    def resume(self, run: str) -> Job:
        """Go on with the interrupted training ``run`` (cancelled, or cut off by a studio that
        stopped) from its last checkpoint, as ``--resume`` does; 409 when it has none."""
        summary = run_summary(self.project.run_path(run))
        if not summary.get("resumable"):
            why = {"finished": "it is finished",
                   "unfinished": "it is not a training that goes on in epochs"}  # fmt: skip
            raise StudioError(
                f"run {run} has nothing to resume: {why.get(summary['state'], summary['state'])}",
                status=409, hint="train a new run instead",
            )  # fmt: skip
        return self._launch(summary["kind"], lambda: run, {"resume": True})

    def _launch(self, kind: str, run: Callable[[], str], options: dict[str, Any]) -> Job:
        """The job, started in its thread; 409 while another one runs (``run()`` names its
        run, asked only once the slot is known to be free)."""
        with self._lock:
            busy = self.current()
            if busy is not None:
                what = "challenge suite" if busy.kind == CHALLENGES else "training"
                raise StudioError(
                    f"a {what} is already running in this project (job {busy.id}, run "
                    f"{busy.run}, {busy.task})",
                    status=409, hint="wait for it to finish, or cancel it first",
                )  # fmt: skip
            job = Job(kind, run(), options)
            self._jobs[job.id] = job
            self._current = job
            self.project.record_job(job.snapshot())
            self._thread = threading.Thread(target=self._work, args=(job,), daemon=True,
                                            name=f"pixelab-studio-job-{job.id}")  # fmt: skip
            self._thread.start()
        return job

    def get(self, job_id: str) -> dict[str, Any]:
        job = self._jobs.get(job_id)
        if job is not None:
            return job.snapshot()
        for row in self.project.jobs():  # an earlier studio's job: from the index
            if row["id"] == job_id:
                return row
        raise StudioError(f"no job {job_id!r} in this project", status=404)

    def job(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> dict[str, Any]:
        job = self._jobs.get(job_id)
        if job is None:
            self.get(job_id)  # 404 when it does not exist at all
            raise StudioError(f"job {job_id} is not running", status=409)
        if not job.active:
            raise StudioError(f"job {job_id} is not running (it is {job.status})", status=409)
        job.cancel_asked.set()
        job.update(message="cancelling: stopping at the next step")
        return job.snapshot()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running job's thread (tests, shutdown); True when none is left."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # ---- the worker ---------------------------------------------------------------------

    def _out(self, job: Job) -> Path:
        """The folder a job writes: its new run, or the measured run's challenges/."""
        run = self.project.runs / job.run
        return run / CHALLENGES if job.kind == CHALLENGES else run

    def _train(self, job: Job, out: Any, progress: Any) -> dict[str, Any]:
        """Run the app of ``job.kind`` on the project's images; its metrics."""
        from pixelab.apps.cnn import train_cnn
        from pixelab.apps.transfer import resume_transfer

        data, o = str(self.project.images), dict(job.options)
        if job.kind == CHALLENGES:
            from pixelab.apps.robust import robust_challenges

            families = tuple(o.pop("families", None) or ()) or None
            return robust_challenges(self.project.runs / job.run, data, out, families=families,
                                     progress=progress, **o)  # fmt: skip
        if o.get("resume"):
            if job.kind == "transfer":
                return resume_transfer(out, progress=progress)
            return train_cnn(None, out, resume=True, progress=progress)
        if job.kind == "transfer":
            from pixelab.apps.transfer import transfer_train

            return transfer_train(data, out, progress=progress, **o)
        if job.kind == "classic":
            from pixelab.apps import run_classic
            from pixelab.train import ClassicConfig

            return run_classic(ClassicConfig(data=data, **CLASSIC, **o), out, progress=progress)
        from pixelab.train import CNNConfig

        return train_cnn(CNNConfig(data=data, **o), out, progress=progress)

    def _work(self, job: Job) -> None:
        from pixelab.apps.cnn import checkpoint_history

        out = self._out(job)

        def progress(task: str, done: int, total: int) -> None:
            if task != job.task and task.startswith("epoch "):  # the last epoch is checkpointed
                job.update(history=checkpoint_history(out))
            job.update(task=task, done=done, total=total)
            if job.cancel_asked.is_set():
                raise KeyboardInterrupt  # the apps stop here as on Ctrl-C, keeping finished work

        try:
            try:
                metrics = self._train(job, out, progress)
            except KeyboardInterrupt:
                metrics = {"interrupted": True, "epochs_done": 0}
            if metrics.get("interrupted"):
                job.update(status="cancelled", message=_cancelled(job, out, metrics))
            else:
                done = challenge_summary if job.kind == CHALLENGES else run_summary
                result = done(out)
                job.update(status="done", result=result, message=None,
                           history=result.get("history") or job.history)  # fmt: skip
        except PixelabError as err:
            job.update(status="failed", message=str(err))
        except Exception as err:  # a bug must not take the studio down: show it on the page
            job.update(status="failed", message=f"{type(err).__name__}: {err}")
        finally:
            job.update(finished=time.time())
            self.project.record_job(job.snapshot())


def _cancelled(job: Job, out: Path, metrics: dict[str, Any]) -> str:
    """What a cancelled job kept, in the page's words."""
    if not (out.is_dir() and "resume" in metrics):
        return "cancelled; nothing was half-written"
    if job.kind == CHALLENGES:
        n = len(metrics.get("families_done", []))
        return (f"cancelled; its {n} finished challenge(s) are kept in runs/{job.run}/"
                f"{CHALLENGES} (running the suite again does the rest)")  # fmt: skip
    return (f"cancelled; its {metrics.get('epochs_done', 0)} finished epoch(s) are kept in "
            f"runs/{job.run}: Resume in the history goes on ({metrics['resume']})")  # fmt: skip
