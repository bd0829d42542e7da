"""Options that many verbs share, declared once (typer's ``Annotated`` form), so their flags
and help read the same everywhere: ``json: JsonFlag = False``."""

from __future__ import annotations

from typing import Annotated

import typer

JsonFlag = Annotated[bool, typer.Option("--json", help="Print metrics as JSON on stdout.")]
DeviceOption = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]
OverwriteFlag = Annotated[bool, typer.Option("--overwrite", help="Replace a run in --out.")]
ResumeFlag = Annotated[bool, typer.Option("--resume", help="Continue the run in --out.")]
