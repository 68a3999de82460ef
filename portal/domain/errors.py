"""The portal's exception tree. Every exception carries a stable ``code``; a code maps to the
locale key ``error.<code>`` (see ``locales/``), so no English ever leaves this package.

    PortalError                     code: internal
    ├── LinkError                   the reply link cannot be used
    │   ├── LinkMalformed           link_malformed
    │   ├── LinkUnknown             link_unknown
    │   ├── LinkExpired             link_expired
    │   ├── LinkRevoked             link_revoked
    │   ├── LinkAnswered            link_answered  (carries answered_at)
    │   └── AlreadySubmitted        already_submitted  (this portal already holds a reply for the message)
    ├── CaseServiceError            talking to the case service failed
    │   ├── CaseServiceUnavailable  case_service_unavailable (network, timeout, 5xx, refused credential: retry later)
    │   └── ReplyRejected           reply_rejected (4xx other than the link errors: never retried;
    │                                               carries server_code, the case service's own code)
    ├── IntakeError                 an uploaded file is refused; code names the rule (file_too_large, ...)
    ├── DraftError                  the reply cannot be submitted yet; code names the rule
    ├── RateLimited                 too_many_attempts / too_many_uploads (carries retry_after, seconds)
    └── StaffAuthError              staff sign-in and staff accounts (portal.staff.accounts)
                                    sign-in:  sign_in_failed (unknown user or wrong password, deliberately
                                                              one code), sign_in_locked (carries locked_until;
                                                              per user name and address, known or not),
                                              too_many_attempts (too many failures from one address,
                                                                 carries retry_after),
                                              untrusted_proxy, session_expired
                                    accounts: staff_user_exists, password_too_short, password_too_long,
                                              password_mismatch (the command's repeated entry),
                                              username_invalid, authority_invalid, display_name_invalid
"""

from __future__ import annotations

from datetime import datetime


class PortalError(Exception):
    """Base of every error the portal explains to a person."""

    code: str = "internal"

    def __init__(self, code: str | None = None, **params: object) -> None:
        if code is not None:
            self.code = code
        self.params: dict[str, object] = params
        super().__init__(self.code)


class LinkError(PortalError):
    code = "link_unknown"


class LinkMalformed(LinkError):
    code = "link_malformed"


class LinkUnknown(LinkError):
    code = "link_unknown"


class LinkExpired(LinkError):
    code = "link_expired"


class LinkRevoked(LinkError):
    code = "link_revoked"


class LinkAnswered(LinkError):
    code = "link_answered"

    def __init__(self, answered_at: datetime | None = None, message_id: str = "") -> None:
        super().__init__(None, answered_at=answered_at)
        self.answered_at = answered_at
        # Whose link said so: the session that holds it may fetch that reply's receipt again.
        self.message_id = message_id


class AlreadySubmitted(LinkError):
    """A reply for this message is already in the portal's outbox under another submission.

    Raised instead of queueing a second reply; ``reference`` and ``submitted_at`` are the first
    submission's, for the page to show.
    """

    code = "already_submitted"

    def __init__(self, reference: str, submitted_at: datetime) -> None:
        super().__init__(None, reference=reference, submitted_at=submitted_at)
        self.reference = reference
        self.submitted_at = submitted_at


class CaseServiceError(PortalError):
    code = "case_service_unavailable"


class CaseServiceUnavailable(CaseServiceError):
    code = "case_service_unavailable"


class ReplyRejected(CaseServiceError):
    """The case service refused the reply for good. ``code`` stays ``reply_rejected`` (one locale
    key); ``server_code`` keeps the case service's own code for operators and the outbox."""

    code = "reply_rejected"

    def __init__(self, server_code: str = "reply_rejected", status: int | None = None) -> None:
        super().__init__(None, server_code=server_code, status=status)
        self.server_code = server_code
        self.status = status


class IntakeError(PortalError):
    code = "file_refused"


class DraftError(PortalError):
    code = "draft_incomplete"


class RateLimited(PortalError):
    """A rate limit refused the request; ``retry_after`` says in how many seconds it may try again."""

    code = "too_many_attempts"

    def __init__(self, code: str | None = None, *, retry_after: int) -> None:
        super().__init__(code, retry_after=retry_after)
        self.retry_after = retry_after


class StaffAuthError(PortalError):
    code = "sign_in_failed"
