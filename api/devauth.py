"""Local development tokens: ``cohortplan serve --dev-auth`` and ``cohortplan token``.

``serve --dev-auth`` generates an RSA key when it starts, keeps the public half in the verifier and writes
the private half to a file only the current user can read (``<output_dir>/dev-auth-key.pem``, removed when
the server stops), so that ``cohortplan token`` can sign tokens for it. The key is never printed. Nothing in
the service configuration can turn this on: only the command-line flag, and only on a SQLite database.
"""
from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from api.auth import Role, StaticKey, TokenVerifier
from api.settings import ApiSettings

DEV_ISSUER = "cohortplan-dev"
DEV_AUDIENCE = "cohortplan-api"
KEY_FILE = "dev-auth-key.pem"


class DevAuthRefused(RuntimeError):
    """Dev auth asked for where it must not be used; the message says why."""


def check_allowed(database_url: str) -> None:
    """Dev auth only on the embedded default (a SQLite file): never on a shared database."""
    if not database_url.startswith("sqlite"):
        raise DevAuthRefused("--dev-auth works only on a SQLite database (the embedded default); this service "
                             "uses another database, so configure COHORTPLAN_API_ISSUER and COHORTPLAN_API_JWKS_URL")


class DevIssuer:
    """Signs local tokens with an RSA key generated for one server run."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self._key = private_key

    @classmethod
    def generate(cls) -> "DevIssuer":
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def load(cls, path: Path) -> "DevIssuer":
        if not path.exists():
            raise DevAuthRefused(f"no dev key at {path}: start `cohortplan serve --dev-auth` first (it makes one "
                                 "for as long as it runs)")
        return cls(serialization.load_pem_private_key(path.read_bytes(), password=None))

    def save(self, path: Path) -> Path:
        """Write the private key, readable by this user only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        return path

    def verifier(self) -> TokenVerifier:
        settings = ApiSettings(issuer=DEV_ISSUER, audience=DEV_AUDIENCE, algorithms=("RS256",))
        return TokenVerifier(settings, StaticKey(self._key.public_key()))

    def token(self, roles: Iterable[Role], regions: Iterable[str], subject: str = "dev-user",
              minutes: int = 60) -> str:
        now = int(time.time())
        claims = {"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": subject, "iat": now, "exp": now + 60 * minutes,
                  "jti": uuid.uuid4().hex, "roles": sorted(str(r) for r in roles), "regions": sorted(regions)}
        return jwt.encode(claims, self._key, algorithm="RS256")


def key_path(output_dir: Path) -> Path:
    return Path(output_dir) / KEY_FILE
