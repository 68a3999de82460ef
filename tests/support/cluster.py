"""The scale-out set-up for the cluster tests, started by the same launcher as ``scripts/cluster``
(``deploy.cluster``): nginx and two backend-only processes, sessions in the machine's Redis,
the portal's outbox and the case service on the machine's PostgreSQL.

with running_cluster(tmp_dir) as (cluster, case_service): ...
backend_of(context, 1)             # this browser's requests go to backend 1 (2 is its backup)
upstreams(cluster, "/_upload")     # the backend ports that served those requests, in order

Without PostgreSQL or Redis the tests fail and say which is missing: CI starts both.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
import sqlalchemy
from playwright.sync_api import BrowserContext

from deploy.cluster import Cluster, ClusterSpec
from deploy.nginx import TEST_COOKIE
from tests.support.case_service import CaseServiceProcess, run_case_service
from tests.support.portal_process import FAST_DELIVERY, GENEROUS_LIMITS
from tests.support.processes import free_port

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/"
# A database number of the machine's Redis for these tests alone (sessions are keyed by random
# client tokens, so runs never meet).
REDIS_URL = "redis://127.0.0.1:6379/8"
_LOG_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+)" (?P<status>\d+) .* upstream=(?P<upstream>\S+(?:, \S+)*)$')


@contextmanager
def postgres_database(purpose: str) -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL, dropped afterwards."""
    admin = sqlalchemy.create_engine(POSTGRES + "postgres", isolation_level="AUTOCOMMIT")
    name = f"{purpose}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sqlalchemy.exc.OperationalError as exc:
        admin.dispose()
        raise RuntimeError(f"the cluster tests need PostgreSQL on 127.0.0.1:5432 (user postgres): {exc}") from exc
    try:
        yield POSTGRES + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def require_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise RuntimeError(f"the cluster tests need Redis on 127.0.0.1:6379: {exc}") from exc


@contextmanager
def running_cluster(tmp_dir: Path) -> Iterator[tuple[Cluster, CaseServiceProcess]]:
    """The case service and the cluster in front of it, the frontend built once; stopped after."""
    require_redis()
    public_port = free_port()
    with postgres_database("cluster_portal") as portal_db, postgres_database("cluster_casesvc") as case_db:
        service = run_case_service(
            tmp_dir / "casesvc",
            portal_base_url=f"http://localhost:{public_port}",
            extra_env={"CASESVC_DATABASE_URL": case_db},
        )
        spec = ClusterSpec(
            run_dir=tmp_dir / "cluster",
            public_port=public_port,
            internal_port=free_port(),
            backend_ports=(free_port(), free_port()),
            portal_env={
                "PORTAL_CASE_SERVICE_URL": service.url,
                "PORTAL_CASE_SERVICE_KEY": service.portal_key,
                "PORTAL_DATABASE_URL": portal_db,
                # The shared file storage (files in the outbox's database); ignored until it exists.
                "PORTAL_FILE_STORAGE": "database",
                "REFLEX_REDIS_URL": REDIS_URL,
                **FAST_DELIVERY,
                **GENEROUS_LIMITS,
            },
            test_routing=True,
            separate_disks=True,
        )
        cluster = Cluster(spec)
        try:
            cluster.build()
            cluster.start()
            yield cluster, service
        finally:
            cluster.stop()
            service.stop()


def backend_of(context: BrowserContext, cluster: Cluster, number: int) -> None:
    """From now on nginx sends this browser's requests to backend ``number`` (1 or 2) while it
    runs, and to the other one when it does not (the test configuration's cookie)."""
    context.add_cookies([{"name": TEST_COOKIE, "value": str(number), "url": cluster.public_url}])


def port_of(cluster: Cluster, number: int) -> str:
    return str(cluster.spec.backend_ports[number - 1])


def upstreams(cluster: Cluster, path_prefix: str) -> list[str]:
    """The backend ports that answered the requests under ``path_prefix``, in the order nginx
    logged them (a websocket when it closed); "a, b" when the first refused and the second served."""
    found = []
    for line in cluster.access_log.read_text().splitlines():
        match = _LOG_LINE.search(line)
        if match and match["path"].startswith(path_prefix):
            found.append(", ".join(part.rsplit(":", 1)[-1] for part in match["upstream"].split(", ")))
    return found
