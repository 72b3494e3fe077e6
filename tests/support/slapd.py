"""A throwaway OpenLDAP server (``slapd``) for one test session, from Debian's binaries.

The directory, seeded by ``start()``::

    dc=example,dc=org
    ├── cn=admin          rootdn, password ``admin-pw`` (not an entry; slapd.conf only)
    ├── cn=reader         service account that may read everything, password ``reader-pw``
    ├── ou=people
    │   ├── uid=alice     password ``alice-pw``, alice@example.org
    │   ├── uid=bob       password ``bob-pw``, bob@example.org
    │   └── uid=carol     password ``carol-pw``, carol@example.org
    └── ou=groups         groupOfNames; the memberof overlay keeps users' ``memberOf``
        ├── cn=developers alice, bob
        └── cn=admins     alice

Every user's password is ``<uid>-pw``. Anyone may bind; only the reader and the entry
itself may read entries, and nobody may read a password. Like many directories, slapd
here accepts an unauthenticated bind (a DN with an empty password) as a success.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterable
from pathlib import Path

from pydantic import SecretStr

from cargohold.config import LdapSettings

from .processes import free_port, run, tail, wait_until

SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-pw"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PASSWORD = "reader-pw"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"

SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {base}/slapd.pid
argsfile {base}/slapd.args
allow bind_anon_cred
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof

database mdb
suffix "{suffix}"
rootdn "{admin_dn}"
rootpw {admin_password}
directory {base}/data
overlay memberof

access to attrs=userPassword
    by anonymous auth
    by * none
access to *
    by dn.exact="{reader_dn}" read
    by self read
    by * none
"""

BASE_LDIF = f"""\
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: {READER_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: {READER_PASSWORD}

dn: {PEOPLE}
objectClass: organizationalUnit
ou: people

dn: {GROUPS}
objectClass: organizationalUnit
ou: groups
"""


def find_slapd() -> Path | None:
    """Where ``slapd`` is installed (it lives in ``/usr/sbin``, often not on ``PATH``)."""
    found = shutil.which("slapd", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    return Path(found) if found else None


def user_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def group_dn(name: str) -> str:
    return f"cn={name},{GROUPS}"


class SlapdServer:
    """One slapd in ``base_dir`` on 127.0.0.1 and a port free when it was made (so a test
    can point a client at it before it starts); ``start()``, then ``stop()``.

    ``add_user``, ``add_group`` and ``remove_from_group`` change the directory while it
    runs, as its administrator.
    """

    def __init__(self, base_dir: Path, slapd: Path) -> None:
        self.slapd = slapd
        self.base_dir = base_dir
        self.port = free_port()
        self.log_file = base_dir / "slapd.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}/"

    def start(self) -> None:
        """Start slapd and seed the directory; return once it answers."""
        (self.base_dir / "data").mkdir(parents=True)
        conf = self.base_dir / "slapd.conf"
        conf.write_text(
            SLAPD_CONF.format(
                base=self.base_dir,
                suffix=SUFFIX,
                admin_dn=ADMIN_DN,
                admin_password=ADMIN_PASSWORD,
                reader_dn=READER_DN,
            )
        )
        with self.log_file.open("wb") as log:
            # -d keeps slapd in the foreground, so it is our child and dies with stop().
            self._process = subprocess.Popen(
                [self.slapd, "-f", conf, "-h", self.url, "-d", "none"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._answers, timeout=30, message=self._startup_failure)
        self._modify(BASE_LDIF, add=True)
        for uid in ("alice", "bob", "carol"):
            self.add_user(uid)
        self.add_group("developers", ["alice", "bob"])
        self.add_group("admins", ["alice"])

    def stop(self) -> None:
        """Stop slapd; its data is thrown away with ``base_dir``."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def add_user(self, uid: str, password: str | None = None, mail: str | None = None) -> str:
        """Add ``uid=<uid>`` under ou=people (password ``<uid>-pw`` by default); its DN."""
        dn = user_dn(uid)
        self._modify(
            f"dn: {dn}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\n"
            f"mail: {mail or f'{uid}@example.org'}\nuserPassword: {password or f'{uid}-pw'}\n",
            add=True,
        )
        return dn

    def add_group(self, name: str, members: Iterable[str]) -> str:
        """Add the groupOfNames ``cn=<name>`` with these uids (at least one); its DN."""
        lines = "".join(f"member: {user_dn(uid)}\n" for uid in members)
        dn = group_dn(name)
        self._modify(f"dn: {dn}\nobjectClass: groupOfNames\ncn: {name}\n{lines}", add=True)
        return dn

    def remove_from_group(self, name: str, uid: str) -> None:
        """Remove ``uid`` from group ``name`` (a groupOfNames keeps at least one member)."""
        self._modify(
            f"dn: {group_dn(name)}\nchangetype: modify\ndelete: member\nmember: {user_dn(uid)}\n"
        )

    def _modify(self, ldif: str, *, add: bool = False) -> None:
        run(
            [
                "ldapmodify",
                *(["-a"] if add else []),
                "-x",
                "-H",
                self.url,
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
            ],
            stdin_text=ldif,
            timeout=30,
        )

    def _answers(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise AssertionError(self._startup_failure())
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def _startup_failure(self) -> str:
        return f"slapd did not start on {self.url}\n--- slapd log ---\n{tail(self.log_file)}"


def slapd_settings(server: SlapdServer, **overrides: object) -> LdapSettings:
    """Settings for ``server``: search as the reader, users in ou=people, groups in ou=groups."""
    fields: dict[str, object] = {
        "url": server.url,
        "bind_dn": READER_DN,
        "bind_password": SecretStr(READER_PASSWORD),
        "user_base": PEOPLE,
        "group_base": GROUPS,
        "timeout_seconds": 5.0,
        **overrides,
    }
    return LdapSettings.model_validate(fields)
