"""A staff list row as the case service sends it, for the portal's staff tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from portal.domain.message import MessageSummaryView

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def summary(**overrides: Any) -> MessageSummaryView:
    data: dict[str, Any] = {
        "id": "m1",
        "kind": "question",
        "subject": "Rückfrage",
        "case_reference": "ABH-P-2026-000001",
        "applicant_name": "A. Person",
        "preferred_language": "ar",
        "sent_at": T0,
        "deadline": date(2026, 12, 20),
        "days_left": 14,
        "expires_at": T0 + timedelta(days=30),
        "link_state": "open",
    }
    data.update(overrides)
    return MessageSummaryView.model_validate(data)
