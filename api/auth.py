"""Who is calling: OAuth2 bearer JWTs verified against the issuer's keys, roles, and visible regions.

A token is accepted when its signature verifies with a key of the configured issuer (its JWKS, fetched and
cached by PyJWT's :class:`jwt.PyJWKClient`) and its ``iss``, ``aud`` and ``exp`` hold. Its roles claim
names any of :class:`Role`; its regions claim lists the region codes the caller may see. Anything of
another region is answered as if it did not exist (404), so ids cannot be probed across regions.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import jwt
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import Forbidden, NotFound, Unauthorized, Unavailable
from api.settings import ApiSettings


class Role(StrEnum):
    READ = "READ"          # the read routes
    PLANNER = "PLANNER"    # reads; overrides, re-plans and what-ifs (later)
    OPS = "OPS"            # reads; the alert workflow
    ADMIN = "ADMIN"        # reads; the alert workflow; dead letters


READERS = frozenset(Role)  # every role may read what its regions hold


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    regions: frozenset[str]

    def sees_region(self, region: str) -> bool:
        return region in self.regions


class KeySource(Protocol):
    """Where the key that verifies a token comes from (the issuer's JWKS, or the local dev key)."""

    def key_for(self, token: str) -> Any: ...

    def at_hand(self, token: str) -> bool:
        """True when :meth:`key_for` will not wait on the network for this token's key."""
        ...


class JwksKeys:
    """The issuer's published keys, fetched over HTTP and cached (``jwks_cache_s``): a key fetched for a kid is
    reused for that long without asking the endpoint (nor a thread: :meth:`at_hand`)."""

    def __init__(self, url: str, cache_s: int, timeout_s: float) -> None:
        self._client = jwt.PyJWKClient(url, cache_keys=True, lifespan=max(cache_s, 1), timeout=timeout_s)
        self._cache_s = cache_s
        self._keys: dict[str, tuple[Any, float]] = {}  # kid -> (key, when it stops being reused: monotonic)

    def at_hand(self, token: str) -> bool:
        """Whether the key of ``token`` is cached (verifying it then touches no network)."""
        found = self._keys.get(_kid(token))
        return found is not None and found[1] > time.monotonic()

    def key_for(self, token: str) -> Any:
        kid = _kid(token)
        found = self._keys.get(kid)
        if found is not None and found[1] > time.monotonic():
            return found[0]
        try:
            key = self._client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            raise Unavailable(f"cannot fetch the issuer's keys: {exc}") from None
        except (jwt.PyJWKClientError, jwt.DecodeError) as exc:
            raise Unauthorized(f"token not signed by a key of the issuer: {exc}") from None
        if kid is not None and self._cache_s > 0:
            self._keys[kid] = (key, time.monotonic() + self._cache_s)
        return key


def _kid(token: str) -> str | None:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.DecodeError:
        return None
    return kid if isinstance(kid, str) else None


class StaticKey:
    """One known public key (the local key of ``--dev-auth``)."""

    def __init__(self, key: Any) -> None:
        self._key = key

    def key_for(self, token: str) -> Any:
        return self._key

    def at_hand(self, token: str) -> bool:
        return True


VERIFIED_MAX = 10_000  # tokens whose verification is kept per process (the oldest go first)


class TokenVerifier:
    """Verifies bearer tokens (signature, issuer, audience, expiry) and reads roles and regions.

    A token that verified is kept, by its exact text, until its expiry (with the leeway) and at most
    ``jwks_cache_s`` (as long as its key is reused anyway): a client sends the same token with every request,
    and checking it again (base64 by the character, RSA) cost a request ~0.3 ms of CPU. A refused token is never
    kept, so it is refused again with its reason."""

    def __init__(self, settings: ApiSettings, keys: KeySource) -> None:
        if not settings.issuer:
            raise ValueError("COHORTPLAN_API_ISSUER is not set: the API accepts tokens of one configured issuer")
        self.settings, self.keys = settings, keys
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (caller, until: epoch seconds)

    def known(self, token: str) -> Principal | None:
        """The caller of a token verified before and still within its time, or None."""
        found = self._verified.get(token)
        if found is not None and time.time() <= found[1]:
            return found[0]
        return None

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> "TokenVerifier":
        if settings.jwks_url is None:
            raise ValueError("COHORTPLAN_API_JWKS_URL is not set: where are the issuer's keys?")
        return cls(settings, JwksKeys(str(settings.jwks_url), settings.jwks_cache_s, settings.jwks_timeout_s))

    def verify(self, token: str) -> Principal:
        known = self.known(token)
        if known is not None:
            return known
        s = self.settings
        checked_at = time.time()
        try:
            claims = jwt.decode(token, self.keys.key_for(token), algorithms=list(s.algorithms), audience=s.audience,
                                issuer=s.issuer, leeway=s.leeway_s,
                                options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None
        principal = Principal(str(claims["sub"]), frozenset(_strings(claims.get(s.roles_claim), Role)),
                              frozenset(_strings(claims.get(s.regions_claim), str)))
        if s.jwks_cache_s > 0 and isinstance(claims["exp"], (int, float)):
            if len(self._verified) >= VERIFIED_MAX:
                self._verified.pop(next(iter(self._verified)))
            self._verified[token] = (principal, min(claims["exp"] + s.leeway_s, checked_at + s.jwks_cache_s))
        return principal


def _strings(value: Any, kind: Callable[[str], Any]) -> Iterable[Any]:
    """The known values of a list claim (a role this API does not know is not an error: it grants nothing)."""
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, str):
            continue
        try:
            yield kind(item)
        except ValueError:
            continue


bearer = HTTPBearer(auto_error=False, description="An OAuth2 access token (JWT) of the configured issuer")


async def authenticated(request: Request,
                        credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    """The caller, from the ``Authorization: Bearer`` header (401 without a valid token)."""
    return await verified(request, credentials)


async def verified(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The caller of ``credentials`` (401 without a valid token). Verified on the event loop when the key is at
    hand (a signature check is ~0.1 ms: cheaper than a thread's round trip), in a thread when the issuer's keys must
    be fetched."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    verifier: TokenVerifier = request.app.state.verifier
    if verifier.known(credentials.credentials) is not None or verifier.keys.at_hand(credentials.credentials):
        return verifier.verify(credentials.credentials)
    return await run_in_threadpool(verifier.verify, credentials.credentials)


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency: the caller, who must hold one of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    async def dependency(principal: Principal = Depends(authenticated)) -> Principal:
        return holding(principal, allowed)

    dependency.__name__ = f"require_{'_'.join(sorted(r.lower() for r in allowed))}"
    return dependency


def holding(principal: Principal, allowed: frozenset[Role]) -> Principal:
    """``principal`` if it holds one of the ``allowed`` roles (403 otherwise)."""
    if not principal.roles & allowed:
        raise Forbidden(f"needs one of the roles {', '.join(sorted(allowed))}")
    return principal


def visible_region(principal: Principal, region: str, known: Iterable[str]) -> str:
    """``region`` if it exists and the caller may see it; else 404 naming the regions the caller may see."""
    mine = {code for code in known if principal.sees_region(code)}
    if region not in mine:
        raise NotFound("region", region, mine)
    return region
