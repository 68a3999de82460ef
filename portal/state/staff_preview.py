"""Support staff's preview of one message: the applicant's page, never a reply.

The preview holds display values only. It has no token, no draft and no upload or submit
handler, so nothing sent from a preview page can become a reply: the reply and upload handlers
belong to ``ReplyState``, which in a staff tab has no verified link and refuses them.

Every handler is for a signed-in staff member only (``staff_session.staff_only``), and opening a
preview is written to the authority's audit log before anything is shown.
"""

from __future__ import annotations

import re

import reflex as rx
from reflex.event import EventSpec

from portal import presenter, runtime
from portal.domain import draft as reply
from portal.domain import errors, i18n
from portal.domain.clock import today
from portal.domain.message import MessageSummaryView, MessageView
from portal.staff.accounts import StaffUser
from portal.staff.presenter import StaffRow, staff_row
from portal.state.staff_session import StaffSessionState, staff_only

MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# A revocation's reason, for the audit log: a sentence or two (the wire would take 2000).
MAX_REVOKE_REASON_CHARS = 500


class PreviewState(StaffSessionState):
    found: bool = False
    preview_error: str = ""  # a locale key
    row: StaffRow = StaffRow()
    # The applicant's page in the chosen language ...
    view_lang: str = i18n.REFERENCE_LANGUAGE
    view_dir: str = "ltr"
    view_t: dict[str, str] = {}
    view_msg: presenter.MessageDisplay = presenter.MessageDisplay()
    view_items: list[presenter.ItemDisplay] = []
    # ... and in German beside it (issue: "the German page side by side").
    de_t: dict[str, str] = {}
    de_msg: presenter.MessageDisplay = presenter.MessageDisplay()
    de_items: list[presenter.ItemDisplay] = []
    revoke_open: bool = False
    revoke_error: str = ""
    announcement: str = ""

    _message: MessageView | None = None
    _summary: MessageSummaryView | None = None
    # True once the staff member picked the preview's language; until then the case's language.
    _chosen_view: bool = False

    @rx.var
    def side_by_side(self) -> bool:
        return self.view_lang != i18n.REFERENCE_LANGUAGE

    @rx.var
    def can_revoke(self) -> bool:
        return self.row.status in ("open", "draft_started")

    @rx.event
    @staff_only
    async def open_preview(self, user: StaffUser) -> list[EventSpec]:
        specs = self._pick_initial(None, remembered=False)
        self.found = False
        self.revoke_open = False
        self.revoke_error = ""
        self.announcement = ""
        self._message = None
        message_id = self.router.page.params.get("message_id", "")
        if not isinstance(message_id, str) or not MESSAGE_ID.fullmatch(message_id):
            self.preview_error = "staff.error.not_found"
            return specs
        try:
            async with runtime.case_service() as client:
                summaries = await client.staff_messages(user.authority_id, message_id=message_id, limit=1)
                if not summaries:
                    raise errors.LinkUnknown()
                # Recorded before anything is shown: a preview that cannot be logged does not happen.
                await self._audit(user, "preview", message_id)
                message = await client.staff_message(user.authority_id, message_id)
        except errors.LinkUnknown:
            # Also what another authority's message looks like: indistinguishable from none.
            self.preview_error = "staff.error.not_found"
            return specs
        except errors.PortalError:
            self.preview_error = "staff.error.case_service_unavailable"
            return specs
        self.preview_error = ""
        self._message, self._summary = message, summaries[0]
        self.found = True
        self._show(self.view_lang if self._chosen_view else message.case.preferred_language or "de")
        return [*specs, self._session_timer()]

    def _forget(self) -> None:
        self.found = False
        self.row = StaffRow()
        self.view_t, self.de_t = {}, {}
        self.view_msg, self.de_msg = presenter.MessageDisplay(), presenter.MessageDisplay()
        self.view_items, self.de_items = [], []
        self.revoke_open = False
        self._message = None
        self._summary = None
        self._chosen_view = False

    def _show(self, lang: str) -> None:
        if lang not in i18n.available_languages():
            lang = i18n.REFERENCE_LANGUAGE
        self.view_lang, self.view_dir = lang, i18n.text_direction(lang)
        self.view_t = i18n.page_texts(lang, self._text_params())
        self.view_msg, self.view_items = self._display(lang)
        self.de_t = i18n.page_texts(i18n.REFERENCE_LANGUAGE, self._text_params())
        self.de_msg, self.de_items = self._display(i18n.REFERENCE_LANGUAGE)
        self._render_row()

    def _display(self, lang: str) -> tuple[presenter.MessageDisplay, list[presenter.ItemDisplay]]:
        message = self._message
        if message is None:
            return presenter.MessageDisplay(), []
        # An empty draft: the page exactly as the applicant first sees it.
        draft = reply.Draft(
            items=[reply.ItemDraft(item_id=i.id, code=i.code, required=i.required) for i in message.requested_items]
        )
        return presenter.message_display(message, lang, today()), presenter.items_display(message, draft, {}, [], lang)

    def _render_row(self) -> None:
        if self._summary is None:
            return
        entry = runtime.store().by_message(self._summary.id)
        started = runtime.drafts().started([self._summary.id]).get(self._summary.id)
        self.row = staff_row(self._summary, entry, started, self.lang, today())

    @rx.event
    @staff_only
    async def show_language(self, user: StaffUser, lang: str) -> None:
        self._chosen_view = True
        self._show(lang)
        return None

    @rx.event
    @staff_only
    async def switch_language(self, user: StaffUser, lang: str) -> list[EventSpec]:
        """The staff member's own language (the page around the preview)."""
        specs = self._change_language(lang)
        self._render_row()
        return specs

    # ------------------------------------------------------------------ revoking

    @rx.event
    @staff_only
    async def ask_revoke(self, user: StaffUser) -> EventSpec:
        self.revoke_open = True
        self.revoke_error = ""
        return self._focus("revoke-reason")

    @rx.event
    @staff_only
    async def cancel_revoke(self, user: StaffUser) -> EventSpec:
        self.revoke_open = False
        self.revoke_error = ""
        return self._focus("revoke-button")

    @rx.event
    @staff_only
    async def revoke(self, user: StaffUser, form: dict[str, str]) -> EventSpec | None:
        if self._summary is None:
            return None
        reason = str(form.get("reason", "")).strip()
        if not reason:
            self.revoke_error = "staff.error.reason_missing"
            return self._focus("revoke-reason")
        if len(reason) > MAX_REVOKE_REASON_CHARS:
            self.revoke_error = "staff.error.reason_too_long"
            return self._focus("revoke-reason")
        try:
            async with runtime.case_service() as client:
                await client.staff_revoke(
                    user.authority_id, self._summary.id, reason=reason, actor=user.username, source=self._source()
                )
                summaries = await client.staff_messages(user.authority_id, message_id=self._summary.id, limit=1)
        except errors.PortalError:
            self.revoke_error = "staff.error.case_service_unavailable"
            return self._focus("revoke-reason")
        if summaries:
            self._summary = summaries[0]
        self.revoke_open = False
        self._render_row()
        self.announcement = self._tr("staff.revoked_done")
        return self._focus("status-heading")
