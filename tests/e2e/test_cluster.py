"""The scale-out set-up in Chromium: nginx serving the exported frontend, two backend-only
processes, sessions in Redis, the outbox and the case service on PostgreSQL (``deploy.cluster``,
as ``scripts/cluster`` starts it). Which backend serves a browser is forced by the test
configuration's cookie and read back from nginx's access log, never left to chance.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from playwright.sync_api import Browser, BrowserContext, Page, expect

from deploy.cluster import Cluster
from tests.e2e.conftest import PHONE
from tests.e2e.portal_page import (
    button,
    choose_files,
    field,
    fill,
    follow_sockets,
    heading,
    latest_socket,
    next_step,
    uploaded,
)
from tests.fixtures.corpus import blank_pdf
from tests.support import messages
from tests.support.case_service import CaseServiceProcess
from tests.support.cluster import backend_of, port_of, running_cluster, upstreams
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e
ONE_DOCUMENT = ({"code": "health_insurance", "required": True, "note": "Mitgliedsbescheinigung"},)


@pytest.fixture(scope="module")
def cluster_and_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, CaseServiceProcess]]:
    # Built and started once for the module: the export takes a while.
    with running_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture()
def cluster(cluster_and_service: tuple[Cluster, CaseServiceProcess]) -> Iterator[Cluster]:
    running = cluster_and_service[0]
    yield running
    # A test that stopped a backend leaves the next one a whole cluster.
    for number in range(len(running.backends)):
        running.start_backend(number)


@pytest.fixture()
def service(cluster_and_service: tuple[Cluster, CaseServiceProcess]) -> Iterator[CaseServiceProcess]:
    yield cluster_and_service[1]
    cluster_and_service[1].start()


@pytest.fixture()
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    context = follow_sockets(browser.new_context(viewport=PHONE, locale="de-DE"))
    try:
        yield context
    finally:
        context.close()


def _link(cluster: Cluster, created: dict[str, Any]) -> str:
    return f"{cluster.public_url}/r/{created['reply_link'].rsplit('/r/', 1)[1]}"


def _pdf(path: Path) -> bytes:
    path.write_bytes(blank_pdf())
    return path.read_bytes()


def _reconnected(page: Page) -> None:
    """The page's websocket is up again (the portal's connection notice has gone)."""
    expect(page.locator(".connection-notice")).to_have_count(0, timeout=60_000)


def _restart(page: Page, cluster: Cluster, number: int) -> None:
    """Restart backend ``number`` under an open tab. When the tab's socket was on it, wait until the
    tab holds a new one: text typed meanwhile would go down the dead socket (the browser notices the
    close a moment after nginx closed it), which no rolling restart can save."""
    before = latest_socket(page)
    cluster.stop_backend(number)
    for _ in range(30):  # nginx closes the client's side as soon as its backend is gone
        if before is None or before.is_closed():
            break
        page.wait_for_timeout(100)  # lets Playwright deliver the close event
    cluster.start_backend(number)
    if before is not None and before.is_closed():
        for _ in range(600):
            now = latest_socket(page)
            if now is not None and now is not before and not now.is_closed():
                break
            page.wait_for_timeout(100)
        else:
            raise AssertionError("the tab did not open a new socket after the restart")
    _reconnected(page)


def _on_other_backend(page: Page, context: BrowserContext, cluster: Cluster, number: int) -> None:
    """Reload the page with its requests sent to backend ``number``: the same session, from Redis."""
    step = page.locator("#step-heading").text_content()
    backend_of(context, cluster, number)
    page.reload()
    _reconnected(page)
    expect(page.locator("#step-heading")).to_have_text(step or "")


def _served(cluster: Cluster, prefix: str, since: int) -> list[str]:
    """Which backends served this test's requests under ``prefix``, repeats folded."""
    return [port for port, _ in groupby(upstreams(cluster, prefix)[since:])]


def _finish(page: Page) -> None:
    """From a document step with its file: past the text and further documents, and submit."""
    next_step(page)
    fill(field(page, "text.label"), "Anbei die Bescheinigung.")
    next_step(page)
    next_step(page)  # no further documents
    field(page, "review.declaration").check()
    button(page, "review.submit").click()
    expect(page.locator("#done-reference")).to_be_visible(timeout=30_000)


def _reply_with_file(service: CaseServiceProcess, message_id: str, sent: bytes) -> None:
    found = wait_until(lambda: messages.replies_for(service, message_id), "the reply at the case service", 60)
    assert len(found) == 1
    (item,) = found[0]["items"]
    (file,) = item["files"]
    body = messages.authority_get(service, f"/api/v1/replies/{found[0]['id']}/files/{file['id']}").content
    assert body == sent and file["sha512"] == hashlib.sha512(sent).hexdigest()


def test_events_and_uploads_alternate_between_backends(
    cluster: Cluster, service: CaseServiceProcess, browser_context: BrowserContext, tmp_path: Path
) -> None:
    created = messages.create(service, messages.message_in(reference="ABH-P-2026-000901", items=ONE_DOCUMENT))
    sockets, uploads = len(upstreams(cluster, "/_event")), len(upstreams(cluster, "/_upload"))
    page = browser_context.new_page()
    backend_of(browser_context, cluster, 1)
    page.goto(_link(cluster, created))
    expect(heading(page)).to_contain_text("Rückfrage zu Ihrem Antrag")
    next_step(page, button(page, "overview.start"))

    # The document goes to backend 2, the rest of the reply is sent from backend 1.
    _on_other_backend(page, browser_context, cluster, 2)
    pdf = _pdf(tmp_path / "versicherung.pdf")
    choose_files(page, tmp_path / "versicherung.pdf")
    expect(uploaded(page).filter(has_text="versicherung.pdf")).to_be_visible()
    _on_other_backend(page, browser_context, cluster, 1)
    _finish(page)
    page.close()

    one, two = port_of(cluster, 1), port_of(cluster, 2)
    assert _served(cluster, "/_upload", uploads) == [two]
    wait_until(lambda: _served(cluster, "/_event", sockets) == [one, two, one], "the three sockets logged", 10)
    _reply_with_file(service, created["id"], pdf)


def test_a_backend_killed_mid_reply(
    cluster: Cluster, service: CaseServiceProcess, browser_context: BrowserContext, tmp_path: Path
) -> None:
    created = messages.create(service, messages.message_in(reference="ABH-P-2026-000902", items=ONE_DOCUMENT))
    sockets = len(upstreams(cluster, "/_event"))
    page = browser_context.new_page()
    backend_of(browser_context, cluster, 1)
    page.goto(_link(cluster, created))
    next_step(page, button(page, "overview.start"))
    pdf = _pdf(tmp_path / "versicherung.pdf")
    choose_files(page, tmp_path / "versicherung.pdf")
    expect(uploaded(page).filter(has_text="versicherung.pdf")).to_be_visible()

    cluster.stop_backend(0, kill=True)  # a crash: no goodbye to the socket
    _reconnected(page)
    _finish(page)  # on backend 2, nginx's backup once backend 1 refuses
    page.close()

    one, two = port_of(cluster, 1), port_of(cluster, 2)
    # nginx logs a websocket when it closes: the one backend 1 held, then the reconnection it
    # refused and backend 2 took (the last socket may still be closing; it is not waited for).
    served = wait_until(lambda: _served(cluster, "/_event", sockets)[1:], "the socket after the crash logged", 30)
    assert _served(cluster, "/_event", sockets)[0] == one and served[0].endswith(two)
    _reply_with_file(service, created["id"], pdf)


def test_rolling_restart_keeps_the_session(
    cluster: Cluster, service: CaseServiceProcess, browser_context: BrowserContext
) -> None:
    created = messages.create(service, messages.message_in("appointment", reference="ABH-P-2026-000903"))
    page = browser_context.new_page()  # no cookie: nginx's round robin, as for applicants
    page.goto(_link(cluster, created))
    next_step(page, button(page, "overview.start"))
    page.get_by_label("Nein, ich brauche einen anderen Termin.").check()
    fill(page.get_by_label("Warum können Sie nicht kommen?"), "Ich bin an dem Tag auf einer Dienstreise.")

    for number in range(len(cluster.backends)):  # one at a time, each back before the next goes
        _restart(page, cluster, number)

    fill(page.get_by_label("Wann könnten Sie kommen?"), "Jeden Dienstag ab 14 Uhr")
    button(page, "nav.next").click()
    expect(page.get_by_text("Dienstreise")).to_be_visible()  # typed before the restarts
    field(page, "review.declaration").check()
    button(page, "review.submit").click()
    expect(page.locator("#done-reference")).to_be_visible(timeout=30_000)
    found = wait_until(lambda: messages.replies_for(service, created["id"]), "the reply at the case service", 60)
    assert [reply["appointment"] for reply in found] == [
        {
            "answer": "reschedule",
            "reason": "Ich bin an dem Tag auf einer Dienstreise.",
            "suitable_times": "Jeden Dienstag ab 14 Uhr",
        }
    ]


def test_replies_while_the_case_service_is_down_arrive_once(
    cluster: Cluster, service: CaseServiceProcess, browser: Browser
) -> None:
    created = [
        messages.create(service, messages.message_in("appointment", reference=f"ABH-P-2026-0{n:05d}"))
        for n in range(950, 980)
    ]
    contexts = [follow_sockets(browser.new_context(viewport=PHONE, locale="de-DE")) for _ in range(2)]
    try:
        for number, context in enumerate(contexts, start=1):
            backend_of(context, cluster, number)
        pages = []
        for n, message in enumerate(created):  # every other reply through the other backend
            page = contexts[n % 2].new_page()
            page.goto(_link(cluster, message))
            next_step(page, button(page, "overview.start"))
            page.get_by_label("Ja, ich komme zu dem Termin.").check()
            button(page, "nav.next").click()
            expect(field(page, "review.declaration")).to_be_visible()
            pages.append(page)

        service.stop()
        for page in pages:
            field(page, "review.declaration").check()
            button(page, "review.submit").click()
        for page in pages:
            expect(page.locator("#done-reference")).to_have_text(re.compile(r"^RK-"))
        service.start()
    finally:
        for context in contexts:
            context.close()

    ids = {message["id"] for message in created}
    engine = sqlalchemy.create_engine(cluster.spec.portal_env["PORTAL_DATABASE_URL"])
    try:

        def delivered() -> bool:
            with engine.connect() as conn:
                rows = conn.execute(sqlalchemy.text("SELECT message_id, state FROM outbox")).all()
            return {m for m, state in rows if state == "delivered"} >= ids

        wait_until(delivered, "all 30 replies delivered", 90)
    finally:
        engine.dispose()
    page_of_replies = messages.authority_get(service, "/api/v1/replies?after=0&limit=100").json()["replies"]
    arrived = sorted(reply["message_id"] for reply in page_of_replies if reply["message_id"] in ids)
    assert arrived == sorted(ids)  # each exactly once
