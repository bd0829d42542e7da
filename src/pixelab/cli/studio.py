"""``pixelab studio``: the local web page to gather, train, try, look inside and probe a model."""

from __future__ import annotations

import typer

from pixelab.cli._ui import err_console, out_console


def studio(
    project: str = typer.Argument(
        "pixelab-project",
        help="The project folder (made if missing): images/<class>/, runs/, studio.sqlite.",
    ),
    port: int = typer.Option(8765, "--port", help="Port on 127.0.0.1 (0: any free port)."),
    no_browser: bool = typer.Option(
        False, "--no-browser", help="Only print the URL; do not open a browser."
    ),
) -> None:
    """Open the studio: gather images per class, train with one button, try the model, see why
    it decides (saliency, feature maps) and probe it (sliders, the challenge suite).

    It listens on 127.0.0.1 only and prints a URL with a start token (like Jupyter); the page
    needs it. Ctrl-C stops it. The project stays a plain folder: 'pixelab transfer train
    --data PROJECT/images' and 'pixelab predict PROJECT/runs/RUN' work on it too.
    """
    # fastapi and uvicorn only here: 'pixelab --help' stays fast
    from pixelab.studio.server import StudioServer

    server = StudioServer(project, port=port)
    out_console.print(f"pixelab studio: project {server.app.state.studio.project.root}")
    out_console.print(f"open {server.url}", highlight=False, soft_wrap=True)
    err_console.print("Ctrl-C stops the studio", highlight=False)
    if not no_browser:
        import webbrowser

        webbrowser.open(server.url)
    server.run()
