"""How much a PDF's pages inflate to when a viewer draws them, counted without keeping any of it.

:func:`measure` answers two numbers: the inflated size of the content streams, and the pixels
of the largest image the pages draw (its declared ``/Width`` x ``/Height``: a 60,000 px square
of Flate data is 1 MB in the file and 3.6 GB in a viewer).

A viewer inflates a content stream whole before it parses it. :func:`content_bytes` adds up
each page's ``/Contents`` (every reference: a ``/Contents`` array may name one stream many
times, and a viewer inflates it each time), plus the form XObjects, tiling patterns, Type 3
glyph procedures and annotation appearances the pages use (each once: viewers keep them).
Flate streams, nearly all of them, are inflated in 1 MiB chunks that are counted and dropped;
other filter chains go through pypdf's decoders, which the caller caps. Counting stops as soon
as the total passes the cap, so a bomb costs a fraction of a second and a few MB.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader
from pypdf.errors import LimitReachedError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from portal.intake.pdf_walk import MAX_DEPTH, FirstVisits

__all__ = ["Measure", "measure"]

_INFLATE_CHUNK = 1 << 20
_FLATE = frozenset({"/FlateDecode", "/Fl"})


@dataclass(frozen=True, slots=True)
class Measure:
    content_bytes: int  # stops counting just past the cap
    largest_image_pixels: int


def measure(reader: PdfReader, cap: int) -> Measure:
    """What the pages' content streams inflate to together, and their largest image's pixels."""
    counter = _ContentCounter(cap)
    for page in reader.pages:
        counter.page(page)
        if counter.total > cap:
            break
    return Measure(counter.total, counter.largest_image)


class _ContentCounter:
    """Adds up inflated content streams; a stream shared by resources counts once."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.total = 0
        self.largest_image = 0
        self._sizes: dict[int, int] = {}  # by object number: a /Contents array may repeat one
        self._visits = FirstVisits()  # resources already walked

    def page(self, page: DictionaryObject) -> None:
        contents = _resolve(page.get("/Contents"))
        for part in contents if isinstance(contents, ArrayObject) else [contents]:
            self._add(part, every_time=True)
        self._resources(page.get("/Resources"), 0)
        annots = _resolve(page.get("/Annots"))
        for annot in annots if isinstance(annots, ArrayObject) else ():
            annot = _resolve(annot)
            appearances = _resolve(annot.get("/AP")) if isinstance(annot, DictionaryObject) else None
            for state in appearances.values() if isinstance(appearances, DictionaryObject) else ():
                state = _resolve(state)
                # An appearance is a form stream, or a dictionary of them (one per on/off state).
                forms = [state] if isinstance(state, StreamObject) else list(_values(state))
                for form in forms:
                    self._form(form, 0)

    def _resources(self, resources: Any, depth: int) -> None:
        resources = _resolve(resources)
        if depth > MAX_DEPTH or not isinstance(resources, DictionaryObject) or not self._visits.first(resources):
            return
        for xobject in _values(resources.get("/XObject")):
            if isinstance(xobject, StreamObject) and xobject.get("/Subtype") == "/Form":
                self._form(xobject, depth)
            elif isinstance(xobject, StreamObject) and xobject.get("/Subtype") == "/Image":
                self.largest_image = max(self.largest_image, _pixels(xobject))
        for pattern in _values(resources.get("/Pattern")):
            if isinstance(pattern, StreamObject):  # a tiling pattern: a content stream of its own
                self._form(pattern, depth)
        for font in _values(resources.get("/Font")):
            if isinstance(font, DictionaryObject) and font.get("/Subtype") == "/Type3":
                for glyph in _values(font.get("/CharProcs")):
                    self._add(glyph, every_time=False)
                self._resources(font.get("/Resources"), depth + 1)

    def _form(self, form: Any, depth: int) -> None:
        if isinstance(form, StreamObject) and self._add(form, every_time=False):
            self._resources(form.get("/Resources"), depth + 1)

    def _add(self, stream: Any, *, every_time: bool) -> bool:
        """Counts ``stream``; False when it was counted before and ``every_time`` is not set."""
        stream = _resolve(stream)
        if not isinstance(stream, StreamObject) or self.total > self.cap:
            return False
        ref = getattr(stream, "indirect_reference", None)
        key = ref.idnum if isinstance(ref, IndirectObject) else None
        if key is not None and key in self._sizes:
            if every_time:
                self.total += self._sizes[key]
            return every_time
        size = _inflated(stream, self.cap - self.total)
        if key is not None:
            self._sizes[key] = size
        self.total += size
        return True


def _pixels(image: StreamObject) -> int:
    width, height = _resolve(image.get("/Width")), _resolve(image.get("/Height"))
    if isinstance(width, int) and isinstance(height, int):
        return max(width, 0) * max(height, 0)
    return 0


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _values(obj: Any) -> Iterator[Any]:
    obj = _resolve(obj)
    if isinstance(obj, DictionaryObject):
        for value in obj.values():
            yield _resolve(value)


def _inflated(stream: StreamObject, room: int) -> int:
    """The decoded size of ``stream``, or a number over ``room`` as soon as it passes it."""
    filters = _resolve(stream.get("/Filter"))
    names = [str(_resolve(f)) for f in filters] if isinstance(filters, ArrayObject) else [str(filters)]
    if filters is None:
        return len(stream.get_data())
    if len(names) == 1 and names[0] in _FLATE:
        return _inflated_flate(stream._data, room)
    try:
        return len(stream.get_data())  # other filter chains: pypdf's decoders, capped by the caller
    except LimitReachedError:
        raise
    except Exception:
        return 0  # a stream no decoder reads draws nothing, here or in a viewer


def _inflated_flate(data: bytes, room: int) -> int:
    # zlib or gzip header, as readers accept; output in chunks that are counted and dropped.
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)
    total, pending = 0, data
    try:
        while total <= room:
            out = inflater.decompress(pending, _INFLATE_CHUNK)
            total += len(out)
            pending = inflater.unconsumed_tail
            if inflater.eof or (not pending and len(out) < _INFLATE_CHUNK):
                break
    except zlib.error:
        pass  # a damaged stream inflates as far as it goes, in viewers too
    return total
