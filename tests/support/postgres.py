"""A throwaway PostgreSQL cluster for tests: initdb into a temporary folder, serve on 127.0.0.1.

The server binaries come from Debian's ``postgresql`` package (scripts/system-packages.txt). The
server refuses to run as root, so as root every server command runs as the ``postgres`` user that
the package creates (``runuser``). Connections over TCP need a password (SCRAM), as on a cluster.
"""

import contextlib
import dataclasses
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

SUPERUSER = "postgres"
PASSWORD = "s3cret-test-password"


@dataclasses.dataclass(frozen=True)
class Postgres:
    """A running server: where it listens and how to reach a database on it."""

    port: int
    data_dir: Path

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL for ``database`` as the superuser, with the password."""
        return f"{driver}://{SUPERUSER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Creates database ``name``; returns its URL."""
        import psycopg

        with psycopg.connect(self.url("postgres", "postgresql"), autocommit=True) as connection:
            connection.execute(f'create database "{name}"')
        return self.url(name)


def server_bin_dir() -> Path:
    """The folder holding initdb and pg_ctl.

    Raises:
        RuntimeError: PostgreSQL is not installed.
    """
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql "
            "package (bash scripts/system-packages.sh)"
        )
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SUPERUSER, "--", *command]


@contextlib.contextmanager
def running_postgres() -> Iterator[Postgres]:
    """Starts a new cluster on a free port of 127.0.0.1; stops and deletes it afterwards."""
    binaries = server_bin_dir()
    # Under /tmp (world-traversable): pytest's own temporary folders are private to root.
    folder = Path(tempfile.mkdtemp(prefix="kfp-mlops-postgres-"))
    data_dir, log_file, password_file = folder / "data", folder / "server.log", folder / "pw"
    password_file.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        user = pwd.getpwnam(SUPERUSER)
        for path in (folder, password_file):
            os.chown(path, user.pw_uid, user.pw_gid)
    port = _free_port()
    started = False
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(data_dir),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={password_file}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        options = f"-h 127.0.0.1 -p {port} -k {folder} -F -c max_connections=50"
        pg_ctl = [str(binaries / "pg_ctl"), "-D", str(data_dir), "-l", str(log_file)]
        subprocess.run(
            _as_server_user([*pg_ctl, "-o", options, "-w", "-t", "60", "start"]),
            check=True,
            capture_output=True,
        )
        started = True
        yield Postgres(port, data_dir)
    except subprocess.CalledProcessError as error:
        log = log_file.read_text() if log_file.exists() else ""
        raise RuntimeError(
            f"PostgreSQL failed: {error.cmd[-1]}: {error.stderr.decode()[-2000:]} {log[-2000:]}"
        ) from error
    finally:
        if started:
            subprocess.run(
                _as_server_user(
                    [str(binaries / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "stop"]
                ),
                check=False,
                capture_output=True,
            )
        shutil.rmtree(folder, ignore_errors=True)
