"""The scale-out set-up on one machine: the frontend exported once and served by nginx, and
backend-only Reflex processes behind it sharing Redis (sessions) and PostgreSQL (the outbox).

``scripts/cluster`` runs ``python -m deploy.cluster up`` and the cluster tests drive
:class:`Cluster` directly, so both start the very same thing:

    cluster = Cluster(ClusterSpec(run_dir, public_port=3000, internal_port=3090,
                                  backend_ports=(3001, 3002), portal_env={...}))
    cluster.build()            # reflex export --frontend-only into run_dir/web
    cluster.start()            # the backends, then nginx in the foreground of its own process
    cluster.stop_backend(0, kill=True); cluster.start_backend(0)
    cluster.stop()

Each backend has its own data folder (as a backend on its own machine has its own disk).
``python -m deploy.cluster render`` writes the nginx configuration for a real deployment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.nginx import NginxSite, render
from portal.settings import PortalSettings

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def reflex_environment(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with the switches that keep Reflex offline (docs/reflex.md, "Running offline") and
    the venv's Node first on PATH; scripts/env.sh sets the same for the shell scripts."""
    return {
        **base,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{base.get('PATH', '')}",
        "REFLEX_USE_NPM": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_HTTP_CLIENT_BIND_ADDRESS": "0.0.0.0",  # noqa: S104 - skips an IPv6 probe, binds nothing
    }


@dataclass(frozen=True)
class ClusterSpec:
    run_dir: Path
    public_port: int
    internal_port: int
    backend_ports: tuple[int, ...]
    # The deployment's settings: PORTAL_* (case service, PORTAL_DATABASE_URL on PostgreSQL, ...)
    # and REFLEX_REDIS_URL. The launcher adds the public URL, the proxy hop and the folders.
    portal_env: Mapping[str, str] = field(default_factory=dict)
    test_routing: bool = False
    # Tests only (needs root): each backend sees only its own data folder, under one path, as two
    # machines would; on one machine a backend could otherwise read a file the other one wrote.
    separate_disks: bool = False
    host: str = "localhost"


class Process:
    """One server of the set-up: started in its own process group with its output in a log,
    ready when ``probe`` answers 200, stopped by signalling the group."""

    def __init__(self, name: str, command: Sequence[str], env: Mapping[str, str], log: Path, probe: str) -> None:
        self.name, self.command, self.env, self.log, self.probe = name, list(command), dict(env), log, probe
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None and self.popen.poll() is None else None

    def start(self, timeout: float = 120.0) -> None:
        if self.pid is not None:
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start; the end of {self.log}:\n{tail(self.log)}")
            time.sleep(0.2)

    def _answers(self) -> bool:
        try:
            return httpx.get(self.probe, timeout=2, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (or SIGKILL, a crash) to the whole group, and wait until it is gone."""
        popen, self.popen = self.popen, None
        if popen is None:
            return
        for sig in (signal.SIGKILL,) if kill else (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(popen.pid, sig)
            except ProcessLookupError:
                break
            try:
                popen.wait(20)
                break
            except subprocess.TimeoutExpired:
                continue


class Cluster:
    def __init__(self, spec: ClusterSpec) -> None:
        self.spec = spec
        self.run_dir = spec.run_dir.resolve()
        self.web_dir = self.run_dir / "web"
        self.frontend_dir = self.web_dir / "build" / "client"
        self.backends = [self._backend(number, port) for number, port in enumerate(spec.backend_ports, start=1)]
        self.nginx = Process(
            "nginx",
            [NGINX, "-p", str(self.run_dir / "nginx"), "-c", str(self.run_dir / "nginx" / "nginx.conf")],
            os.environ,
            self.run_dir / "nginx" / "nginx.out",
            f"{self.public_url}/ping",
        )

    @property
    def public_url(self) -> str:
        return f"http://{self.spec.host}:{self.spec.public_port}"

    @property
    def internal_url(self) -> str:
        return f"http://127.0.0.1:{self.spec.internal_port}"

    @property
    def access_log(self) -> Path:
        return self.run_dir / "nginx" / "access.log"

    def environment(self) -> dict[str, str]:
        """What every portal process of the set-up (the export included) runs with."""
        return reflex_environment(
            {
                **os.environ,
                **self.spec.portal_env,
                "PORTAL_PUBLIC_URL": self.public_url,
                "PORTAL_PORT": str(self.spec.public_port),
                # nginx appends the client to X-Forwarded-For; the backends trust that one hop.
                "PORTAL_TRUSTED_PROXY_HOPS": "1",
                "REFLEX_WEB_WORKDIR": str(self.web_dir),
            }
        )

    def settings(self) -> PortalSettings:
        env = self.environment()
        names = {
            name.removeprefix("PORTAL_").lower(): value for name, value in env.items() if name.startswith("PORTAL_")
        }
        return PortalSettings(**names)  # type: ignore[arg-type]

    def build(self) -> float:
        """Export the frontend once, for this public URL (baked into the build); seconds taken."""
        started = time.monotonic()
        log = self.run_dir / "export.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            done = subprocess.run(
                ["reflex", "export", "--frontend-only", "--no-zip", "--env", "prod"],
                cwd=ROOT, env=self.environment(), stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=False,
            )  # fmt: skip
        if done.returncode != 0 or not (self.frontend_dir / "reply" / "index.html").exists():
            raise RuntimeError(f"reflex export failed; the end of {log}:\n{tail(log)}")
        return time.monotonic() - started

    def start(self) -> None:
        """Every backend, then nginx (the frontend must have been built); all or nothing."""
        try:
            for number in range(len(self.backends)):
                self.start_backend(number)
            self.start_nginx()
        except BaseException:
            self.stop()
            raise

    def start_backend(self, number: int) -> None:
        self.backends[number].start()

    def stop_backend(self, number: int, kill: bool = False) -> None:
        self.backends[number].stop(kill=kill)

    def start_nginx(self) -> None:
        conf_dir = self.run_dir / "nginx"
        site = NginxSite(
            listen=f"127.0.0.1:{self.spec.public_port}",
            internal_listen=f"127.0.0.1:{self.spec.internal_port}",
            backends=[f"127.0.0.1:{port}" for port in self.spec.backend_ports],
            frontend_dir=self.frontend_dir,
            conf_dir=conf_dir,
            access_log=str(self.access_log),
            error_log=str(conf_dir / "error.log"),
            test_routing=self.spec.test_routing,
        )
        portal_conf = render(site, self.settings())
        (conf_dir / "nginx.conf").write_text(main_config(portal_conf, conf_dir))
        self.nginx.start(timeout=30)

    def stop(self) -> None:
        self.nginx.stop()
        for backend in self.backends:
            backend.stop()

    def _backend(self, number: int, port: int) -> Process:
        own = self.run_dir / f"backend-{number}"
        data_dir = self.run_dir / "disk" if self.spec.separate_disks else own / "data"
        env = {
            **self.environment(),
            # Its own disk, as on a machine of its own; sessions are in Redis, replies in PostgreSQL.
            "PORTAL_DATA_DIR": str(data_dir),
            "REFLEX_STATES_WORKDIR": str(own / "states"),
            "REFLEX_UPLOADED_FILES_DIR": str(own / "uploaded_files"),
            # rxconfig reads it before Reflex parses --backend-only (it must name no frontend port).
            "REFLEX_BACKEND_ONLY": "true",
        }
        command = ["reflex", "run", "--env", "prod", "--backend-only", "--backend-host", "127.0.0.1"]
        command += ["--backend-port", str(port), "--loglevel", "info"]
        if self.spec.separate_disks:
            (own / "data").mkdir(parents=True, exist_ok=True)
            data_dir.mkdir(parents=True, exist_ok=True)
            # A mount namespace of its own, in which its folder is mounted on the shared path.
            bind = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", bind, "sh", str(own / "data"),
                       str(data_dir), *command]  # fmt: skip
        return Process(f"backend {number}", command, env, own / "backend.log", f"http://127.0.0.1:{port}/ping")


def main_config(portal_conf: Path, conf_dir: Path) -> str:
    """nginx's main file for a foreground nginx run by the launcher (not the system service)."""
    # Run as root (CI, a developer's machine as root), nginx's workers would switch to nobody, who
    # may not read the run folder: they stay the launcher's user.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {conf_dir / 'nginx.pid'};\n"
        f"error_log {conf_dir / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        f"    include {portal_conf};\n}}\n"
    )


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database ``url`` names unless it exists (trust or password auth)."""
    from sqlalchemy import create_engine, make_url, text

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
            if found.first() is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    finally:
        admin.dispose()


def _up(args: argparse.Namespace) -> None:
    spec = ClusterSpec(
        run_dir=Path(args.run_dir),
        public_port=args.port,
        internal_port=args.internal_port,
        backend_ports=tuple(args.backend_port),
    )
    cluster = Cluster(spec)
    stop = {"now": False}

    def ask_stop(_signum: int, _frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, ask_stop)
    signal.signal(signal.SIGINT, ask_stop)
    started = time.monotonic()
    try:
        built = cluster.build()
        cluster.start()
        print(f"cluster: frontend built in {built:.0f} s, all up in {time.monotonic() - started:.0f} s", flush=True)
        if args.ready_file:
            Path(args.ready_file).write_text(cluster.public_url)
        while not stop["now"]:
            time.sleep(0.5)
    finally:
        cluster.stop()


def _render(args: argparse.Namespace) -> None:
    out = Path(args.out)
    site = NginxSite(
        listen=args.listen,
        internal_listen=args.internal_listen,
        backends=args.backend,
        frontend_dir=Path(args.frontend).resolve(),
        conf_dir=out.resolve(),
        access_log=args.access_log,
        error_log=args.error_log,
        server_name=args.server_name,
    )
    print(render(site, PortalSettings()))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="build the frontend, start the backends and nginx (until SIGTERM)")
    up.add_argument("--run-dir", required=True)
    up.add_argument("--port", type=int, required=True, help="nginx's public port")
    up.add_argument("--internal-port", type=int, required=True, help="nginx's listener for metrics and health")
    up.add_argument("--backend-port", type=int, action="append", required=True)
    up.add_argument("--ready-file", default="", help="written with the public URL once everything answers")
    database = commands.add_parser("database", help="create a PostgreSQL database unless it exists")
    database.add_argument("url")
    site = commands.add_parser("render", help="write the nginx configuration for the settings in the environment")
    site.add_argument("--out", required=True, help="folder for portal.conf and its snippets")
    site.add_argument("--frontend", required=True, help="the exported build (.web/build/client)")
    site.add_argument("--backend", action="append", required=True, help="host:port, once per backend")
    site.add_argument("--listen", default="80")
    site.add_argument("--internal-listen", default="127.0.0.1:9090")
    site.add_argument("--server-name", default="_")
    site.add_argument("--access-log", default="/var/log/nginx/portal.access.log")
    site.add_argument("--error-log", default="/var/log/nginx/portal.error.log")
    args = parser.parse_args(argv)
    if args.command == "up":
        _up(args)
    elif args.command == "database":
        ensure_database(args.url)
    else:
        _render(args)


if __name__ == "__main__":
    main(sys.argv[1:])
