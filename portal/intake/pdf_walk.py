"""Walking a hostile PDF's object graph: how deep to follow, and each object only once.

Both walkers of an upload's PDF use these: the sanitiser (catalogue, form fields, action chains,
:mod:`portal.intake.pdfs`) and the inflation count (resources, forms, patterns, Type 3 fonts,
:mod:`portal.intake.pdf_content`). A file can make its objects refer to each other in a circle
or nest them thousands deep; a walker stops at :data:`MAX_DEPTH` and skips what it has seen.
"""

from __future__ import annotations

from typing import Any

from pypdf.generic import IndirectObject

__all__ = ["MAX_DEPTH", "FirstVisits"]

# Forms in forms, /Kids in /Kids, /Next after /Next: deeper is an attack on the walker, not a document.
MAX_DEPTH = 64


class FirstVisits:
    """Remembers the indirect objects a walk has reached, by object number."""

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def first(self, obj: Any) -> bool:
        """True the first time ``obj`` is reached, False after; a direct object (one without an
        object number, so it cannot be reached twice) is always new."""
        ref = getattr(obj, "indirect_reference", None)
        if not isinstance(ref, IndirectObject):
            return True
        if ref.idnum in self._seen:
            return False
        self._seen.add(ref.idnum)
        return True
