"""The applicant's files: upload (judged by content), order, combine into one PDF, remove.

A mixin of :class:`portal.state.reply.ReplyState`, kept apart so each module stays readable; it
uses the reply state's draft, uploads and rendering. Files enter the file storage here and
enter and leave the draft through :mod:`portal.domain.draft_files`; what they count against the
message stays here.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import reflex as rx
from reflex.event import EventSpec

from portal import metrics, runtime
from portal.domain import draft as reply
from portal.domain import draft_files, errors, i18n
from portal.domain.message import MessageView
from portal.intake import pipeline as intake
from portal.server.ratelimit import UPLOAD_REFUSED_CODE, count, link_subject
from portal.state.focus import focus, focus_script
from portal.state.saving import Pulled, saves_draft
from portal.storage import FileStorage

# Emptying the file input lets the applicant pick the same file again (after "try again later").
_CLEAR_FILE_INPUT = "const i=document.querySelector('#documents input[type=file]');if(i){i.value='';}"


class UploadMixin(rx.State, mixin=True):
    """Handlers for the current step's files."""

    if TYPE_CHECKING:
        _draft: reply.Draft | None
        _message: MessageView | None
        _token: str
        _uploads: dict[str, intake.StoredUpload]
        _problem_list: list[reply.Problem]
        step: str
        extra_code: str
        extra_description: str
        announcement: str
        upload_errors: list[str]

        def _current_item(self) -> reply.ItemDraft | None: ...
        def _client_token(self) -> str: ...
        def _render(self) -> None: ...
        def _tr(self, key: str, **params: object) -> str: ...
        def _tr_count(self, key: str, count: int, **params: object) -> str: ...
        def _tr_wait(self, minutes: int) -> str: ...
        async def _pull_draft(self) -> Pulled: ...

    @rx.event
    @saves_draft
    async def upload(self, files: list[rx.UploadFile]) -> EventSpec | None:
        """Files picked for the current item (or as a further document). Judged by content only.

        The reply's allowance of files and bytes belongs to the message, shared by every session
        on its link (:mod:`portal.protection.quotas`), not to this session.
        """
        if self._draft is None or self._message is None or self.step not in ("item", "extras"):
            return None
        refused_for_now = await self._count_upload()
        if refused_for_now is not None:
            return refused_for_now
        item = self._current_item()
        already = len(item.files) if item is not None else 0
        limits = runtime.limits()
        sessions = runtime.link_sessions()
        storage = runtime.file_storage()
        message_id = self._message.id
        accepted: list[intake.StoredUpload] = []
        added: list[str] = []
        refused: list[str] = []
        for upload in files:
            name = intake.clean_original_name(upload.filename or "")
            usage = await asyncio.to_thread(sessions.usage, message_id)
            bytes_in_reply = usage.bytes
            code = intake.check_counts(already + len(accepted), usage.files, bytes_in_reply, 1, limits)
            if code is None:
                try:
                    stored = await intake.accept(
                        intake.read_chunks(upload),
                        name,
                        storage.work_dir,
                        limits,
                        bytes_in_reply=bytes_in_reply,
                        scan=runtime.scanner(),
                    )
                except errors.IntakeError as exc:
                    code = exc.code
            if code is None:
                code = await self._hold(stored, message_id)
            if code is None:
                code = await self._keep(stored)
            if code is not None:
                metrics.count_upload_refused(code)
                refused.append(self._tr(f"error.{code}", name=i18n.isolate(name)))
                continue
            accepted.append(stored)
            added.append(name)
        # Receiving took a while: another browser may have saved the draft meanwhile, or sent it
        # (then the page says so, and the files are left to the purge).
        if await self._pull_draft() is Pulled.GONE:
            return None
        item = self._current_item()
        # An item's own list, or (further documents) the files of the one document being added now.
        target_files = item.files if item is not None else []
        for stored in accepted:
            draft_files.attach(self._uploads, target_files, stored)
        if item is None and target_files:
            self._draft.extras.append(
                reply.ExtraDraft(code=self.extra_code, description=self.extra_description, files=target_files)
            )
            self.extra_description = ""
        self._problem_list = []
        self.upload_errors = refused
        self._render()
        self.announcement = self._tr_count("upload.added", len(added)) if added else ""
        return rx.call_script(_CLEAR_FILE_INPUT + (focus_script("upload-errors") if refused else ""))

    async def _hold(self, stored: intake.StoredUpload, message_id: str) -> str | None:
        """Counts an accepted file against the message; another session may have added files
        since the check, so the count is read again with this file in it."""
        limits = runtime.limits()
        usage = await asyncio.to_thread(
            runtime.link_sessions().hold,
            self._client_token(),
            message_id,
            stored.id,
            stored.size,
            datetime.now(UTC),
        )
        code = intake.check_files_per_reply(usage.files - 1, 1, limits) or intake.check_reply_bytes(
            usage.bytes - stored.size, stored.size, limits
        )
        if code is not None:
            await asyncio.to_thread(runtime.link_sessions().release, [stored.id])
            await asyncio.to_thread(intake.delete_work_file, runtime.file_storage().work_dir, stored.id)
        return code

    async def _keep(self, stored: intake.StoredUpload) -> str | None:
        """The accepted file into the file storage every instance reads; ``upload_failed`` if it
        cannot be stored now (the applicant tries again)."""
        storage = runtime.file_storage()
        try:
            await asyncio.to_thread(storage.keep, stored.id)
        except Exception:
            await asyncio.to_thread(runtime.link_sessions().release, [stored.id])
            await asyncio.to_thread(intake.delete_work_file, storage.work_dir, stored.id)
            return "upload_failed"
        return None

    def _files_of_current(self) -> list[str] | None:
        item = self._current_item()
        return item.files if item is not None else None

    @rx.event
    @saves_draft
    def move_file(self, file_id: str, delta: int) -> None:
        """Put the pages of one document in order before they are combined or sent."""
        files = self._files_of_current()
        if files is None or file_id not in files:
            return
        here = files.index(file_id)
        there = max(0, min(len(files) - 1, here + int(delta)))
        files.insert(there, files.pop(here))
        name = self._uploads[file_id].original_name
        self.announcement = self._tr("upload.moved", name=i18n.isolate(name), position=there + 1, count=len(files))
        self._render()

    @rx.event
    @saves_draft
    async def merge_photos(self) -> None:
        """Several photos of one document become one PDF, pages in the order shown."""
        files = self._files_of_current()
        if files is None or self._message is None:
            return
        photos = [f for f in files if self._uploads[f].media_type.startswith("image/")]
        if len(photos) < 2:
            return
        storage = runtime.file_storage()
        try:
            merged = await asyncio.to_thread(_merge, storage, [self._uploads[f] for f in photos], runtime.limits())
        except (errors.IntakeError, OSError) as exc:
            code = exc.code if isinstance(exc, errors.IntakeError) else "upload_failed"
            self.upload_errors = [self._tr(f"error.{code}", name=i18n.isolate(self._uploads[photos[0]].original_name))]
            self._render()
            return
        draft_files.replace_by_merge(self._uploads, files, photos, merged)
        await asyncio.to_thread(runtime.link_sessions().release, photos)
        # One PDF of the same photos: counted again, never refused for the quota the photos held.
        await asyncio.to_thread(
            runtime.link_sessions().hold,
            self._client_token(),
            self._message.id,
            merged.id,
            merged.size,
            datetime.now(UTC),
        )
        self.upload_errors = []
        self.announcement = self._tr_count("upload.merged", len(photos))
        self._render()

    @rx.event
    @saves_draft
    async def remove_file(self, file_id: str) -> None:
        if self._draft is None or file_id not in self._uploads:
            return
        stored = draft_files.remove(self._draft, self._uploads, file_id)
        if stored is None:
            return
        await asyncio.to_thread(runtime.link_sessions().release, [file_id])
        self.announcement = self._tr("upload.removed", name=i18n.isolate(stored.original_name))
        self._render()

    @rx.event
    def upload_refused_by_browser(self, rejected: list[dict[str, Any]]) -> None:
        self.announcement = self._tr("error.upload_failed")

    # ------------------------------------------------------------------ rate limit (per link)

    async def _count_upload(self) -> EventSpec | None:
        """Counts this upload against the link's limit (the guard counted address and tab before
        the body was read); the refusal when it is over, else None."""
        verdict = await count(runtime.rate_limiter, [(runtime.rate_rules().upload_link, link_subject(self._token))])
        if verdict.allowed:
            return None
        metrics.count_upload_refused(UPLOAD_REFUSED_CODE)
        return self._show_upload_refusal(verdict.minutes)

    def _show_upload_refusal(self, minutes: int) -> EventSpec:
        wait = self._tr_wait(minutes)
        self.upload_errors = [f"{self._tr('error.too_many_uploads')} {wait}"]
        self.announcement = ""
        return focus("upload-errors")

    @rx.event
    def upload_refused(self, code: str, minutes: int) -> EventSpec | None:
        """Called by the guard's 429 answer to an upload (portal.server.ratelimit): says why."""
        if code != UPLOAD_REFUSED_CODE or self._message is None:
            return None
        return self._show_upload_refusal(max(1, min(int(minutes), 24 * 60)))


def _merge(storage: FileStorage, photos: list[intake.StoredUpload], limits: intake.Limits) -> intake.StoredUpload:
    """The photos as one PDF, kept in the file storage (blocking)."""
    with storage.paths([p.id for p in photos]) as paths:
        merged = intake.merge_uploads(photos, paths, storage.work_dir, limits)
    try:
        storage.keep(merged.id)
    except BaseException:
        intake.delete_work_file(storage.work_dir, merged.id)
        raise
    return merged
