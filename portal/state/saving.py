"""The draft saved as the applicant goes: restored on the same link after a restart, on another
device or after the session expired, until the link expires.

A mixin of :class:`portal.state.reply.ReplyState`. Every handler that changes the draft is wrapped
in :func:`saves_draft`: before it runs, a draft another browser saved meanwhile is loaded (the
page says so); after it, the draft is saved as the next version (``portal.outbox.saved_drafts``).
Were another browser to save in between, the save is refused, the other browser's draft is shown
and the page asks the applicant to repeat the last change: nothing is silently overwritten. The
page says truthfully when the draft was last saved, and when it could not be.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import reflex as rx

from portal import runtime
from portal.domain import clock, draft_codec, errors, steps
from portal.domain import draft as reply
from portal.domain.clock import BERLIN
from portal.domain.formatting import format_time
from portal.domain.message import MessageView
from portal.intake import pipeline as intake
from portal.outbox.saved_drafts import DraftConflict, SavedDraft

log = logging.getLogger(__name__)

Handler = TypeVar("Handler", bound=Callable[..., Any])


class Pulled(Enum):
    SAME = "same"  # nothing saved elsewhere since this session last saw the draft
    NEWER = "newer"  # another browser's newer draft is now the session's
    GONE = "gone"  # sent (or expired) elsewhere: the page says so, nothing more may change


def saves_draft(handler: Handler) -> Handler:
    """For an event handler that changes the draft: load another browser's newer draft first,
    save the draft after. Reflex sees the handler's own signature."""
    return _saving(handler, carries_value=False)


def saves_draft_value(handler: Handler) -> Handler:
    """:func:`saves_draft` for a handler that writes a value the applicant entered on the page as
    it was: on top of another browser's newer draft it would overwrite that browser's entry, so
    it is not applied; the page shows the newer draft and asks for the change again."""
    return _saving(handler, carries_value=True)


def _saving(handler: Handler, *, carries_value: bool) -> Handler:
    @functools.wraps(handler)
    async def saving(self: DraftSavingMixin, *args: Any, **kwargs: Any) -> Any:
        pulled = await self._pull_draft()
        if pulled is Pulled.GONE:
            return None
        if pulled is Pulled.NEWER and carries_value:
            self._notice_code = "conflict"
            self._render()
            return None
        result = handler(self, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        await self._push_draft()
        return result

    return saving  # type: ignore[return-value]


class DraftSavingMixin(rx.State, mixin=True):
    """Saving, loading and restoring the session's draft."""

    draft_saved: str = ""  # "Saved at 14:02", or why it is not
    draft_notice: str = ""  # another browser's changes were loaded, or this change was refused
    # Counts the drafts taken from other browsers: the step's fields are keyed by it, so they are
    # drawn anew with the loaded values (they are uncontrolled while the applicant types).
    draft_generation: int = 0

    _draft_version: int = 0
    _draft_saved_at: datetime | None = None
    _draft_state: str = ""  # "" | saved | failed
    _notice_code: str = ""

    if TYPE_CHECKING:
        step: str
        item_index: int
        lang: str
        _message: MessageView | None
        _draft: reply.Draft | None
        _uploads: dict[str, intake.StoredUpload]
        _problem_list: list[reply.Problem]

        def _render(self) -> None: ...
        def _steps(self) -> tuple[steps.Step, ...]: ...
        def _go(self, step: steps.Step) -> None: ...
        def _client_token(self) -> str: ...
        def _tr(self, key: str, **params: object) -> str: ...
        async def _link_still_open(self) -> bool: ...
        def _fail(self, exc: errors.PortalError) -> None: ...

    def _show_saving(self) -> None:
        """The two vars, in the page's language (a part of rendering)."""
        if self._draft_state == "failed":
            self.draft_saved = self._tr("draft.not_saved")
        elif self._draft_saved_at is not None:
            self.draft_saved = self._tr("draft.saved_at", time=format_time(self._draft_saved_at, self.lang, BERLIN))
        else:
            self.draft_saved = ""
        self.draft_notice = self._tr(f"draft.{self._notice_code}") if self._notice_code else ""

    def _forget_saving(self) -> None:
        self._draft_version = 0
        self._draft_saved_at = None
        self._draft_state = ""
        self._notice_code = ""

    async def _restore_saved(self, message: MessageView) -> None:
        """On opening a link: the draft saved for its message, if any, in place of the empty one."""
        self._forget_saving()
        try:
            saved = await asyncio.to_thread(runtime.saved_drafts().load, message.id)
        except Exception:
            log.warning("could not read a saved draft")
            self._draft_state = "failed"
            return
        if saved is not None and self._take(saved, reply.empty_draft(message), keep_step=False):
            await self._adopt_files()

    async def _pull_draft(self) -> Pulled:
        """Before a change: another browser's newer draft replaces this session's."""
        if self._message is None or self._draft is None:
            return Pulled.SAME
        try:
            version = await asyncio.to_thread(runtime.saved_drafts().version, self._message.id)
            if version == self._draft_version:
                self._notice_code = ""
                return Pulled.SAME
            saved = await asyncio.to_thread(runtime.saved_drafts().load, self._message.id)
        except Exception:
            log.warning("could not read a saved draft")
            return Pulled.SAME
        if saved is None:
            # Saved before and gone now: sent from another browser, or its link expired.
            if await self._sent_elsewhere() or not await self._link_still_open():
                return Pulled.GONE
            self._draft_version = 0  # gone for another reason: saved anew from this session
            return Pulled.SAME
        if not self._take(saved, reply.empty_draft(self._message), keep_step=True):
            return Pulled.SAME
        self._notice_code = "changed_elsewhere"
        self.draft_generation += 1
        await self._adopt_files()
        return Pulled.NEWER

    async def _sent_elsewhere(self) -> bool:
        """A reply to this message is in the outbox (perhaps not delivered yet): the page says
        it was answered, and when."""
        if self._message is None:
            return False
        try:
            entry = await asyncio.to_thread(runtime.store().by_message, self._message.id)
        except Exception:
            return False
        if entry is None:
            return False
        self._fail(errors.LinkAnswered(answered_at=entry.created_at, message_id=self._message.id))
        self._render()
        return True

    async def _push_draft(self) -> None:
        """After a change: the draft as the next saved version."""
        if self._message is None or self._draft is None or self.step == steps.DONE.name:
            return
        body = draft_codec.dump(self._draft, self._uploads, self.step, self.item_index)
        try:
            saved = await asyncio.to_thread(
                runtime.saved_drafts().save,
                self._message.id,
                body,
                self._draft_version,
                clock.now(),
                self._message.expires_at,
            )
        except DraftConflict as conflict:
            current = conflict.current
            if current is not None and self._take(current, reply.empty_draft(self._message), keep_step=True):
                self.draft_generation += 1
                await self._adopt_files()
            self._notice_code = "conflict"
            self._render()
            return
        except Exception:
            log.warning("could not save a draft")
            self._draft_state = "failed"
            self._render()
            return
        self._draft_version = saved.version
        self._draft_saved_at = saved.saved_at
        self._draft_state = "saved"
        self._show_saving()

    def _take(self, saved: SavedDraft, fresh: reply.Draft, *, keep_step: bool) -> bool:
        """``saved`` becomes the session's draft; False (and nothing changed) if it cannot be read."""
        try:
            restored = draft_codec.load(saved.body, fresh)
        except draft_codec.DraftFormatError:
            log.warning("a saved draft could not be read; the applicant starts anew")
            return False
        self._draft = restored.draft
        self._uploads = restored.uploads
        self._draft_version = saved.version
        self._draft_saved_at = saved.saved_at
        self._draft_state = "saved"
        self._problem_list = []
        here = steps.Step(self.step, self.item_index if self.step == "item" else 0)
        wanted = here if keep_step else steps.Step(restored.step, restored.index)
        # Never onto the confirmation, nor a step the message does not have.
        if wanted not in self._steps() or wanted == steps.DONE:
            wanted = steps.OVERVIEW
        self._go(wanted)
        return True

    async def _adopt_files(self) -> None:
        """The saved draft's files count against the message under this session from now on."""
        if self._message is None:
            return
        files = [(u.id, u.size) for u in self._uploads.values()]
        try:
            await asyncio.to_thread(
                runtime.link_sessions().adopt, self._client_token(), self._message.id, files, clock.now()
            )
        except Exception:
            log.warning("could not count a restored draft's files")
