"""Bearer JWTs verified against the issuer's JWKS served over real HTTP on 127.0.0.1: signature, issuer,
audience and expiry; dev auth only from the command line and only on SQLite."""
from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from api.auth import Principal, Role, TokenVerifier
from api.devauth import DevAuthRefused, DevIssuer, check_allowed
from api.problems import Unauthorized, Unavailable
from api.settings import ApiSettings
from tests.support.polling import wait_until

ISSUER, AUDIENCE = "https://issuer.test", "cohortplan-api"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return _key()


@pytest.fixture(scope="module")
def jwks_url(signing_key) -> Iterator[str]:
    """The issuer's JWKS (one key, kid "k1") from a tiny HTTP server on a free port."""
    jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key())), "kid": "k1", "use": "sig"}
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200 if self.path == "/jwks.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    wait_until(lambda: httpx.get(url, timeout=1).status_code == 200, timeout=10)
    yield url
    server.shutdown()


@pytest.fixture
def verifier(jwks_url) -> TokenVerifier:
    return TokenVerifier.from_settings(ApiSettings(issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks_url, leeway_s=0))


def sign(key, kid: str = "k1", **overrides) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 300,
              "roles": ["READ", "OPS", "SOMETHING_ELSE"], "regions": ["RS"], **overrides}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256",
                      headers={"kid": kid})


def test_a_token_signed_by_the_issuer_gives_its_roles_and_regions(verifier, signing_key):
    principal = verifier.verify(sign(signing_key))
    assert principal.subject == "user-1" and principal.regions == {"RS"}
    assert principal.roles == {Role.READ, Role.OPS}, "an unknown role grants nothing and is not an error"


@pytest.mark.parametrize("change,why", [
    ({"iss": "https://elsewhere.test"}, "Invalid issuer"), ({"aud": "another-api"}, "Audience"),
    ({"exp": int(time.time()) - 10}, "expired"), ({"exp": None}, "exp"), ({"sub": None}, "sub"),
])
def test_a_token_with_a_wrong_claim_is_refused_naming_it(verifier, signing_key, change, why):
    with pytest.raises(Unauthorized, match=why):
        verifier.verify(sign(signing_key, **change))


def test_a_token_signed_by_another_key_is_refused(verifier):
    with pytest.raises(Unauthorized, match="not signed by a key of the issuer"):
        verifier.verify(sign(_key(), kid="k2"))
    with pytest.raises(Unauthorized, match="Signature verification failed"):
        verifier.verify(sign(_key(), kid="k1"))  # the issuer's kid, another key


def test_an_unreachable_jwks_is_a_503_not_a_401(signing_key):
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    verifier = TokenVerifier.from_settings(ApiSettings(issuer=ISSUER, jwks_url=f"http://127.0.0.1:{port}/jwks.json",
                                                       jwks_timeout_s=2))
    with pytest.raises(Unavailable, match="cannot fetch the issuer's keys"):
        verifier.verify(sign(signing_key))


def test_an_unsigned_token_is_refused(verifier):
    unsigned = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "exp": int(time.time()) + 60}, None,
                          algorithm="none", headers={"kid": "k1"})
    with pytest.raises(Unauthorized):
        verifier.verify(unsigned)


def test_the_app_answers_401_for_a_bad_token_and_200_for_a_good_one(region, jwks_url, signing_key):
    from fastapi.testclient import TestClient

    from api.app import create_app
    app = create_app(region.engine, TokenVerifier.from_settings(
        ApiSettings(issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks_url)))
    client = TestClient(app)
    good = client.get("/regions/RS/alerts", headers={"Authorization": f"Bearer {sign(signing_key)}"})
    assert good.status_code == 200, good.text
    bad = client.get("/regions/RS/alerts", headers={"Authorization": f"Bearer {sign(signing_key, aud='x')}"})
    assert bad.status_code == 401 and bad.headers["content-type"] == "application/problem+json"


def test_dev_auth_cannot_be_turned_on_by_configuration(monkeypatch):
    monkeypatch.setenv("COHORTPLAN_API_DEV_AUTH", "true")
    with pytest.raises(ValidationError, match="COHORTPLAN_API_DEV_AUTH.*only ever enabled by `cohortplan serve --dev-auth`"):
        ApiSettings()


def test_dev_auth_is_refused_on_anything_but_sqlite():
    check_allowed("sqlite:///out/cohortplan.db")
    with pytest.raises(DevAuthRefused, match="only on a SQLite database"):
        check_allowed("postgresql+psycopg://cohortplan@db:5432/cohortplan")


def test_the_api_needs_an_issuer_and_its_keys():
    with pytest.raises(ValueError, match="COHORTPLAN_API_ISSUER"):
        TokenVerifier.from_settings(ApiSettings(jwks_url="http://127.0.0.1:1/jwks.json"))
    with pytest.raises(ValueError, match="COHORTPLAN_API_JWKS_URL"):
        TokenVerifier.from_settings(ApiSettings(issuer=ISSUER))


def test_a_verified_token_is_kept_until_its_expiry_and_a_refused_one_never(monkeypatch):
    issuer = DevIssuer.generate()
    verifier = issuer.verifier()
    asked = []
    key_for = verifier.keys.key_for
    monkeypatch.setattr(verifier.keys, "key_for", lambda token: asked.append(token) or key_for(token))
    token = issuer.token([Role.READ], ["RS"], minutes=1)
    assert verifier.verify(token) == verifier.verify(token) == Principal("dev-user", frozenset({Role.READ}),
                                                                         frozenset({"RS"}))
    assert len(asked) == 1  # checked once
    past_expiry = time.time() + 60 + verifier.settings.leeway_s + 1
    monkeypatch.setattr("api.auth.time.time", lambda: past_expiry)
    assert verifier.known(token) is None
    verifier.verify(token)  # (PyJWT's own clock still finds it valid: only the keeping is under test)
    assert len(asked) == 2
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            verifier.verify(forged)
    assert verifier.known(forged) is None and len(asked) == 4
