"""The staff preview in the real state tree: the applicant's page in any language beside the
German one, never a reply, and revoking a link.

The messages, the audit log and the revocation are the real reference case service over HTTP.
"""

from __future__ import annotations

from typing import Any

from portal import runtime
from portal.state.reply import ReplyState
from portal.state.staff import StaffState
from portal.state.staff_preview import PreviewState
from tests.portal.conftest import replies_for
from tests.portal.state.conftest import set_connection, signed_in
from tests.support import messages

ADDRESS, BROWSER = "198.51.100.7", "Firefox/140"


async def _preview(message_id: str, listing: StaffState | None = None) -> PreviewState:
    """A signed-in tab on /staff/message/<message_id>, as the page loads it."""
    listing = listing or await signed_in()
    preview = await listing.get_state(PreviewState)
    set_connection(preview, ADDRESS, BROWSER, f"/staff/message/{message_id}", {"message_id": message_id})
    await preview.open_preview()
    return preview


def _audit(case_service: Any, action: str, message_id: str) -> list[dict[str, Any]]:
    entries = messages.authority_get(case_service, "/api/v1/audit").json()["entries"]
    return [e for e in entries if e["action"] == action and e["message_id"] == message_id]


async def test_the_preview_shows_the_applicants_language_beside_german(staff: None, case_service: Any) -> None:
    body = messages.message_in("question", reference="ABH-P-2026-000701")
    body["case"]["preferred_language"] = "ar"
    created = messages.create(case_service, body)
    preview = await _preview(created["id"])
    assert preview.found and preview.preview_error == ""
    # The case's language first, right to left, with the German page beside it.
    assert (preview.view_lang, preview.view_dir) == ("ar", "rtl") and preview.side_by_side
    assert preview.view_t["request.application"] == "طلبكم"
    assert preview.de_t["request.application"] == "Ihr Antrag"
    # The same three items, as either applicant first sees them: nothing answered yet.
    assert [i.id for i in preview.view_items] == [i.id for i in preview.de_items] and len(preview.de_items) == 3
    assert all(i.title != d.title for i, d in zip(preview.view_items, preview.de_items, strict=True))
    assert not any(i.files or i.not_available for i in preview.view_items)
    # The page around it stays in the staff member's language.
    assert preview.lang == "de" and preview.row.status_text == "Offen"
    # Written to the audit log, by whom and from where.
    (entry,) = _audit(case_service, "preview", created["id"])
    assert (entry["actor"], entry["source"]) == ("m.muster", ADDRESS)

    await preview.show_language("en")
    assert (preview.view_lang, preview.view_dir) == ("en", "ltr")
    assert preview.view_t["request.application"] == "Your application"
    await preview.show_language("xx")  # not a language of the portal: the German page alone
    assert preview.view_lang == "de" and not preview.side_by_side

    await preview.switch_language("en")
    assert preview.lang == "en" and preview.row.status_text == "Open" and preview.view_lang == "de"


async def test_a_chosen_language_stays_for_the_next_preview(staff: None, case_service: Any) -> None:
    first = messages.create(case_service, messages.message_in("question", reference="ABH-P-2026-000702"))
    second = messages.create(case_service, messages.message_in("question", reference="ABH-P-2026-000703"))
    preview = await _preview(first["id"])
    assert preview.view_lang == "de"
    await preview.show_language("uk")
    listing = await preview.get_state(StaffState)
    again = await _preview(second["id"], listing)
    assert again.view_lang == "uk" and again.row.reference == "ABH-P-2026-000703"


async def test_another_authoritys_message_looks_like_none(staff: None, case_service: Any) -> None:
    theirs = messages.create(
        case_service, messages.message_in("question", reference="ABH-C-2026-000704"), authority="abh-cottbus"
    )
    for message_id in (theirs["id"], "no-such-message", "../../etc"):
        preview = await _preview(message_id)
        assert not preview.found and preview.preview_error == "staff.error.not_found"
        assert preview.view_t == {} and preview.row.reference == ""
    assert _audit(case_service, "preview", theirs["id"]) == []


async def test_nothing_sent_from_a_preview_becomes_a_reply(staff: None, case_service: Any) -> None:
    created = messages.create(case_service, messages.message_in("question", reference="ABH-P-2026-000705"))
    listing = await signed_in()
    root = listing._get_root_state()
    root.router_data = root._update_router_vars({**root.router_data, "token": "staff-tab"}, root.router_data)
    preview = await _preview(created["id"], listing)
    assert preview.router.session.client_token == "staff-tab"
    assert preview.found
    # The preview itself has no handler that could write a draft, an upload or a reply ...
    assert not {"upload", "submit", "next_step", "set_text", "set_declaration"} & set(PreviewState.event_handlers)
    # ... and the reply handlers of the same tab have no verified link to answer.
    reply = await preview.get_state(ReplyState)
    await reply.next_step()
    await reply.set_declaration(True)
    await reply.submit()
    assert runtime.store().by_message(created["id"]) is None
    assert await replies_for(case_service, created["id"]) == []
    # The server lets an upload through only for a tab that verified a link: this one never did.
    assert not await runtime.may_upload("staff-tab")
    assert messages.authority_get(case_service, f"/api/v1/messages/{created['id']}").json()["link_state"] == "open"


async def test_revoking_needs_a_reason_and_is_logged_without_it(staff: None, case_service: Any) -> None:
    created = messages.create(case_service, messages.message_in("question", reference="ABH-P-2026-000706"))
    preview = await _preview(created["id"])
    assert preview.can_revoke
    assert "revoke-reason" in str(await preview.ask_revoke()) and preview.revoke_open
    assert "revoke-button" in str(await preview.cancel_revoke()) and not preview.revoke_open

    await preview.ask_revoke()
    await preview.revoke({"reason": "   "})
    assert preview.revoke_error == "staff.error.reason_missing"
    await preview.revoke({"reason": "x" * 501})
    assert preview.revoke_error == "staff.error.reason_too_long"
    link = f"/api/v1/messages/{created['id']}"
    assert messages.authority_get(case_service, link).json()["link_state"] == "open"

    assert "status-heading" in str(await preview.revoke({"reason": "Bescheid ist ergangen"}))
    assert messages.authority_get(case_service, link).json()["link_state"] == "revoked"
    assert preview.row.status == "revoked" and not preview.revoke_open and not preview.can_revoke
    assert preview.announcement.startswith("Der Link ist zurückgezogen.")
    (entry,) = _audit(case_service, "revoke", created["id"])
    assert entry["actor"] == "m.muster" and "Bescheid" not in str(entry)
