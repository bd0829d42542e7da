"""The ``pixelab`` command: a thin shell over the Python API.

Errors caused by input become one red line and exit code 2 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import sys

import typer

from pixelab import __version__
from pixelab._core.errors import PixelabError
from pixelab.cli import (
    augment,
    classic,
    cnn,
    data,
    explain,
    features,
    generate,
    robust,
    studio,
    style,
    superres,
    tour,
    transfer,
)


def _hide_type_tags() -> None:
    """Typer >= 0.29 prints a ``<str>``/``<bool>`` tag beside every option and argument; the
    help texts say what each takes, so the tags only crowd the table."""
    from typer import core

    for cls in (core.TyperOption, core.TyperArgument):
        if hasattr(cls, "display_type_rich"):
            cls.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]


_hide_type_tags()
app = typer.Typer(
    name="pixelab",
    help="Machine learning for images, from pixels to CNNs — on built-in data or your own folders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(data.app, name="data")
app.add_typer(features.app, name="features")
app.add_typer(classic.app, name="classic")
app.add_typer(cnn.app, name="cnn")
app.add_typer(explain.app, name="explain")
app.add_typer(transfer.app, name="transfer")
app.add_typer(augment.app, name="augment")
app.add_typer(robust.app, name="robust")
app.add_typer(generate.gan_app, name="gan")
app.add_typer(generate.vae_app, name="vae")
app.add_typer(generate.diffusion_app, name="diffusion")
app.add_typer(style.app, name="style")
app.add_typer(superres.app, name="superres")
app.command("imagenet")(transfer.imagenet)
app.command("predict")(cnn.predict)
app.command("export")(cnn.export)
app.command("compare")(cnn.compare)
app.command("tour")(tour.tour)
app.command("studio")(studio.studio)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pixelab {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """Machine learning for images, from pixels to CNNs."""


#: The arguments of the running command (after ``pixelab``).
ARGV: list[str] = []


def run(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning PixelabError into one red line and exit code 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    ARGV[:] = args  # what was asked, for a verb that starts itself again (cnn train --nproc)
    debug = "--debug" in args
    try:
        app(args=args, prog_name="pixelab", standalone_mode=True)
    except PixelabError as err:
        if debug:
            raise
        from pixelab.cli._ui import err_console

        err_console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; no half-written run folder was left behind\n")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    run()
