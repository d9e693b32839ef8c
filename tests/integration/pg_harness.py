"""A real PostgreSQL 15 for integration tests, started by the test itself.

Each cluster is made by Debian's initdb in a temporary directory (scram-sha-256 over TCP on
127.0.0.1, a free port, the Unix socket in the temporary directory) and started with pg_ctl.
PostgreSQL refuses to run as root: as root, initdb, pg_ctl and the server run as `nobody`, which
owns the temporary directory. Roles are made over the Unix socket (trust for local connections);
logins are checked with psql over TCP with a password, as an application would. The superuser
`postgres` alone may also connect over TCP without a password, so an `arca server` can be pointed at
url(dbname) (the PostgreSQL store's tests).

    cluster = PostgresCluster().init().start()
    url = cluster.create_database("arca_ha")   # postgresql://postgres@127.0.0.1:PORT/arca_ha
    ...
    cluster.cleanup()

Environment:
  ARCA_PG_BIN   directory of initdb and pg_ctl (default /usr/lib/postgresql/15/bin)
  ARCA_IT_KEEP  set to 1 to keep the cluster's directory (data and postgres.log)

Tests skip without PostgreSQL (have_postgres()); scripts/deps.sh --test installs Debian's
postgresql.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile

PG_BIN = os.environ.get("ARCA_PG_BIN", "/usr/lib/postgresql/15/bin")


def have_postgres():
    return os.access(os.path.join(PG_BIN, "initdb"), os.X_OK) and shutil.which("psql")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """One PostgreSQL server in a temporary directory, on its own port."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="arca-it-pg-")
        os.chmod(self.root, 0o755)
        self.data = os.path.join(self.root, "data")
        self.sock = os.path.join(self.root, "sock")
        self.log = os.path.join(self.root, "postgres.log")
        os.makedirs(self.sock)
        self.port = free_port()
        self.run_as = None
        if os.geteuid() == 0:
            # PostgreSQL will not run as root.
            self.run_as = "nobody"
            pw = pwd.getpwnam(self.run_as)
            for p in (self.root, self.sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)

    def _pg(self, *args, check=True):
        cmd = [os.path.join(PG_BIN, args[0])] + list(args[1:])
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--"] + cmd
        return subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, check=check,
                              timeout=120)

    def init(self):
        self._pg("initdb", "-D", self.data, "-U", "postgres", "--no-sync", "--auth-local=trust",
                 "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C")
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\n"
                    "host all postgres 127.0.0.1/32 trust\n"
                    "host all all 127.0.0.1/32 scram-sha-256\n")
        return self

    def start(self, durable=False):
        """Starts the server; fsync is off (tests need no crash safety) unless `durable`."""
        fsync = "on" if durable else "off"
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync={fsync} "
                f"-c password_encryption=scram-sha-256")
        self._pg("pg_ctl", "-D", self.data, "-l", self.log, "-o", opts, "-w", "-t", "60", "start")
        return self

    def stop(self, mode="fast"):
        self._pg("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop", check=False)

    def cleanup(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self.stop("immediate")
        if os.environ.get("ARCA_IT_KEEP") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    def sql(self, statement, dbname="postgres"):
        """Runs SQL as the superuser over the Unix socket; returns stdout."""
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", self.sock, "-p", str(self.port), "-U", "postgres", "-d", dbname,
                            "-c", statement],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"psql failed: {p.stderr}")
        return p.stdout.strip()

    def url(self, dbname="postgres"):
        """The URL of `dbname` for the superuser over TCP, no password (trust)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name):
        """Creates the (empty) database `name`; returns its url()."""
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def login(self, user, password, statement="SELECT 1"):
        """(ok, output) of a password login over TCP, as an application makes it."""
        env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
        env.pop("PGPASSFILE", None)
        p = subprocess.run(["psql", "-X", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            f"host=127.0.0.1 port={self.port} dbname=postgres user={user} "
                            "sslmode=disable", "-c", statement],
                           capture_output=True, text=True, timeout=60, env=env)
        return p.returncode == 0, (p.stdout + p.stderr).strip()
