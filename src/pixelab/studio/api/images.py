"""Gather: classes, uploads (many files at once, all checked before any is kept), thumbnails,
removal (to the project's trash, never deleted)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel

from pixelab._core.errors import PixelabError
from pixelab.studio.api import get_studio, multipart_body
from pixelab.studio.project import StudioError

router = APIRouter(tags=["images"])


class NewClass(BaseModel):
    name: str


@router.get("/api/classes")
def classes(studio: Any = Depends(get_studio)) -> list[dict[str, Any]]:
    """Every class with its image count."""
    return studio.project.classes()


@router.post("/api/classes", status_code=201)
def add_class(body: NewClass, studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """Create an empty class (a folder under images/)."""
    return studio.project.add_class(body.name)


@router.get("/api/classes/{name}/images")
def list_images(name: str, studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """The images of one class: file names and sizes."""
    return {"class": name, "images": studio.project.images_of(name)}


async def read_uploads(request: Request, studio: Any, field: str) -> list[tuple[str, Path]]:
    """The files of a multipart request, each checked and written to the project's tmp folder;
    the first bad one discards them all and is the error. Limits first, then the form."""
    limits = studio.project.limits
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limits.max_request_bytes:
        raise StudioError(f"upload too large ({int(length):,} bytes; limit "
                          f"{limits.max_request_bytes:,} per request)", status=413,
                          hint="upload fewer files at a time")  # fmt: skip
    form = await request.form(max_files=limits.max_files, max_fields=20)
    checked: list[tuple[str, Path]] = []
    try:
        files = [v for k, v in form.multi_items() if k == field and not isinstance(v, str)]
        if not files:
            raise StudioError(f"no files in the upload (form field {field!r})", status=400)
        for f in files:
            name = f.filename or ""
            if f.size is not None and f.size > limits.max_file_bytes:
                raise StudioError(f"{name}: too large ({f.size:,} bytes; limit "
                                  f"{limits.max_file_bytes:,})", status=413,
                                  hint="shrink the image before uploading it")  # fmt: skip
            data = await f.read(limits.max_file_bytes + 1)
            tmp = await run_in_threadpool(studio.project.check_upload, name, data)
            checked.append((name, tmp))
    except BaseException:
        studio.project.discard([tmp for _, tmp in checked])
        raise
    finally:
        await form.close()
    return checked


@router.post(
    "/api/classes/{name}/images", status_code=201, openapi_extra=multipart_body("files", many=True)
)
async def upload(name: str, request: Request, studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """Add images to a class (multipart field ``files``, many at once). Every file is checked
    first (name, bytes, pixels, a whole readable image); if any is bad none is kept."""
    studio.project.class_dir(name)  # 404 before reading the body
    checked = await read_uploads(request, studio, "files")
    try:
        stored = await run_in_threadpool(studio.project.store, name, checked)
    finally:
        studio.project.discard([tmp for _, tmp in checked])
    return {"class": name, "stored": stored, "count": len(studio.project.images_of(name))}


@router.get("/api/classes/{name}/images/{file}")
def image(name: str, file: str, studio: Any = Depends(get_studio)) -> FileResponse:
    """The image file as it is on disk."""
    # nosniff: a file put there by hand is served as the image its name says, never as a page
    return FileResponse(studio.project.image_path(name, file),
                        headers={"X-Content-Type-Options": "nosniff"})  # fmt: skip


@router.get("/api/classes/{name}/images/{file}/thumbnail")
def thumbnail(name: str, file: str, size: int = 96, studio: Any = Depends(get_studio)) -> Response:
    """A PNG at most ``size`` pixels on its long side (16 to 512)."""
    from PIL import Image

    from pixelab.data.folder import read_image

    if not 16 <= size <= 512:
        raise StudioError(f"size must be between 16 and 512, got {size}")
    path = studio.project.image_path(name, file)
    with unreadable_as_415(path, file):
        array = read_image(path, max_pixels=studio.project.limits.max_pixels)
    img = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    img.thumbnail((size, size))
    return Response(png(img), media_type="image/png", headers={"Cache-Control": "no-store"})


@contextlib.contextmanager
def unreadable_as_415(path: Path, shown: str) -> Iterator[None]:
    """A file put in the project by hand may be anything: an error about ``path`` (it does not
    decode as a whole image) becomes a 415 that names it ``shown``, not by its full path."""
    try:
        yield
    except PixelabError as err:
        if str(path) not in err.message:
            raise
        raise StudioError(err.message.replace(str(path), shown), status=415) from err


def png(image: Any) -> bytes:
    """A PIL image, or a uint8 array (H, W), (H, W, 1) or (H, W, 3), as PNG bytes."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        a = np.asarray(image)
        image = Image.fromarray(a[:, :, 0] if a.ndim == 3 and a.shape[2] == 1 else a)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@router.delete("/api/classes/{name}/images/{file}")
def remove(name: str, file: str, studio: Any = Depends(get_studio)) -> dict[str, Any]:
    """Take an image out of the class: it moves to the project's .studio/trash/ folder."""
    return studio.project.remove_image(name, file)
