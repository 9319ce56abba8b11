"""``Identity``: who is asking, so that a chat is only ever touched by its owner.

Theory of operation
-------------------
An *owner* is an opaque string (1 to 256 characters, no control characters) that chats
are kept under. It comes from one of two places:

* **The app's own auth**: ``Identity(identify=...)``, a function of the request that
  returns the signed-in user's id, or None when nobody is signed in (the endpoint then
  answers 401). It may be ``async def`` (a session or token lookup) or a plain function;
  a plain one is called on the event loop, so it must be cheap (reading
  ``request.state.user`` that an auth middleware set). Anything that waits on I/O must
  be ``async def``.
* **Otherwise an anonymous owner**, kept in a cookie the server signs: the first
  request gets a new owner id (``anon_`` and 128 random bits) and a ``Set-Cookie``;
  later requests send it back. The cookie is ``HttpOnly`` (page scripts cannot read
  it), ``SameSite=Lax`` (other sites' requests do not carry it), ``Path=/``, and
  ``Secure`` on https. Its value is ``v1.<owner>.<issued>.<signature>``: the signature
  is HMAC-SHA256 under a key derived from the secret, compared in constant time. A
  cookie that does not verify (tampered, signed with another secret, an older format,
  older than its max-age) is never an error and never yields its owner: the request
  gets a new anonymous owner. A valid cookie more than a day old is issued again
  (same owner, new date), so an owner who keeps coming back keeps their chats.

The secret, first found wins: ``Identity(secret=...)``; the ``UIWIRE_SECRET``
environment variable; the chat store's ``kept_secret()`` (fetched on the first request,
once, and cached); and only when the endpoint runs in one process (``shared=False``),
a random secret made for the process (logged once: its cookies die with it). When
several workers may serve the endpoint (``shared=True``) and there is no secret,
``Identity.resolve`` raises at start-up: each worker would otherwise sign with its own
secret and owners would lose their chats from one request to the next.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import inspect
import logging
import os
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "DEFAULT_COOKIE_MAX_AGE",
    "DEFAULT_COOKIE_NAME",
    "SECRET_ENV",
    "Identify",
    "Identity",
    "KeptSecret",
    "Owner",
    "OwnerResolver",
    "check_owner_id",
]

logger = logging.getLogger("uiwire")

Identify = Callable[[Request], Awaitable[str | None] | str | None]
"""``identify(request)``: the signed-in user's owner id, or None when nobody is signed
in. ``async def`` for anything that waits; a plain function runs on the event loop."""

KeptSecret = Callable[[], Awaitable[bytes]]
"""``await kept_secret()``: a secret the workers share (``ChatStore.kept_secret``)."""

SECRET_ENV: Final = "UIWIRE_SECRET"
DEFAULT_COOKIE_NAME: Final = "uiwire_owner"
DEFAULT_COOKIE_MAX_AGE: Final = 400 * 24 * 60 * 60
"""400 days: the longest a browser keeps a cookie."""
MIN_SECRET_BYTES: Final = 32
MAX_OWNER_ID_CHARS: Final = 256

_RENEW_AFTER: Final = 24 * 60 * 60
_CLOCK_SKEW: Final = 5 * 60
"""How far in the future a cookie's date may be (workers' clocks differ a little)."""
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an RFC 6265 token
_COOKIE_VALUE = re.compile(r"v1\.(anon_[0-9a-f]{32})\.([0-9]{1,12})\.([0-9A-Za-z_-]{43})")
_KEY_LABEL: Final = b"uiwire anonymous owner cookie"
_HOW_TO_MAKE_A_SECRET: Final = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


@dataclasses.dataclass(frozen=True, slots=True)
class Owner:
    """Who a request acts for."""

    id: str
    """The owner id chats are kept under."""
    set_cookie: str | None = dataclasses.field(default=None, repr=False)
    """A ``Set-Cookie`` header value to send with the response (a new or renewed
    anonymous owner's cookie), or None."""

    def add_cookie_to(self, response: Response) -> None:
        """Send ``set_cookie`` (if any) with ``response``."""
        if self.set_cookie is not None:
            response.headers.append("set-cookie", self.set_cookie)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """How a ``ChatEndpoint`` learns who is asking (see the module docstring).

    Arguments:
        identify: the app's own auth, ``identify(request) -> owner id | None``. Without
            it, owners are anonymous, kept in a signed cookie.
        secret: signs the anonymous owner cookie: at least 32 random bytes (a ``str`` is
            taken as UTF-8). Without it: ``UIWIRE_SECRET``, then the chat store's.
        cookie_name: the anonymous owner cookie's name. ``__Host-uiwire_owner`` pins it
            to this host (no sibling subdomain can plant one) when served over https only.
        max_age: how long the browser keeps the cookie, in seconds.
        secure: send the cookie over https only; None (the default) when the request
            came over https (behind a proxy, run uvicorn with ``--proxy-headers``).
    """

    identify: Identify | None = None
    secret: str | bytes | None = dataclasses.field(default=None, repr=False)
    cookie_name: str = DEFAULT_COOKIE_NAME
    max_age: int = DEFAULT_COOKIE_MAX_AGE
    secure: bool | None = None

    def __post_init__(self) -> None:
        if self.identify is not None and not callable(self.identify):
            raise TypeError(
                f"Identity.identify must be callable; got {type(self.identify).__name__}"
            )
        if self.secret is not None:
            _secret_bytes(self.secret, "Identity.secret")
        if not isinstance(self.cookie_name, str) or not _COOKIE_NAME.fullmatch(  # pyright: ignore[reportUnnecessaryIsInstance]
            self.cookie_name
        ):
            raise ValueError(
                f"Identity.cookie_name must be a cookie name (letters, digits, "
                f"!#$%&'*+-.^_`|~); got {self.cookie_name!r}"
            )
        if self.cookie_name.startswith(("__Host-", "__Secure-")) and self.secure is not True:
            raise ValueError(
                f"Identity.cookie_name {self.cookie_name!r}: browsers keep such a cookie only "
                "when it is Secure; set secure=True (and serve over https)"
            )
        if type(self.max_age) is not int or self.max_age < 1:
            raise ValueError(f"Identity.max_age must be a positive int; got {self.max_age!r}")
        if self.secure is not None and not isinstance(self.secure, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"Identity.secure must be a bool or None; got {self.secure!r}")

    def resolve(
        self,
        *,
        shared: bool,
        kept_secret: KeptSecret | None = None,
        clock: Callable[[], float] = time.time,
    ) -> OwnerResolver:
        """The resolver a server holds, made at start-up (the endpoint's construction).

        ``shared``: several processes may serve the endpoint (a ``RedisStreamStore``, a
        database several workers share). ``kept_secret``: the chat store's, used when
        no secret is configured. ``clock``: seconds since the epoch.

        ``ValueError`` when ``shared`` and no secret can be found (configure one), or
        when ``UIWIRE_SECRET`` is too short.
        """
        if self.identify is not None:
            return OwnerResolver(self, key=None, kept_secret=None, clock=clock)
        secret, source = self.secret, "Identity.secret"
        if secret is None:
            secret, source = os.environ.get(SECRET_ENV), f"the {SECRET_ENV} environment variable"
        if secret is not None:
            key = _signing_key(_secret_bytes(secret, source))
            return OwnerResolver(self, key=key, kept_secret=None, clock=clock)
        if kept_secret is not None:
            if not callable(kept_secret):
                raise TypeError(
                    f"kept_secret must be an async callable; got {type(kept_secret).__name__}"
                )
            return OwnerResolver(self, key=None, kept_secret=kept_secret, clock=clock)
        if shared:
            raise ValueError(
                "the anonymous owner cookie has no secret, and several workers may serve "
                "this endpoint: each would sign with a secret of its own and owners would "
                f"lose their chats from one request to the next. Set {SECRET_ENV} to 32 "
                f"random bytes or more ({_HOW_TO_MAKE_A_SECRET}), pass "
                "Identity(secret=...), or keep chats in a ChatStore (it keeps one)"
            )
        return OwnerResolver(self, key=_process_key(), kept_secret=None, clock=clock)


class OwnerResolver:
    """An ``Identity`` at work: ``await owner(request)`` for every request.

    Made by ``Identity.resolve``. Safe to share between requests and event loops.
    """

    def __init__(
        self,
        identity: Identity,
        *,
        key: bytes | None,
        kept_secret: KeptSecret | None,
        clock: Callable[[], float],
    ) -> None:
        self.identity = identity
        self._key = key
        self._kept_secret = kept_secret
        self._fetching: asyncio.Task[bytes] | None = None
        self._clock = clock

    @property
    def anonymous(self) -> bool:
        """Owners are anonymous (the signed cookie), not the app's signed-in users."""
        return self.identity.identify is None

    async def owner(self, request: Request) -> Owner | None:
        """Who ``request`` acts for; None when ``identify`` says nobody is signed in
        (answer 401). Anonymous owners always get one, new if the cookie did not verify.

        Raises ``TypeError`` / ``ValueError`` when ``identify`` returns something that
        is not an owner id, and what ``kept_secret`` raises (``ChatStoreError``).
        """
        identify = self.identity.identify
        if identify is not None:
            found = identify(request)
            if inspect.isawaitable(found):
                found = await found
            if found is None:
                return None
            return Owner(check_owner_id(found, "Identity.identify"))
        key = self._key if self._key is not None else await self._kept_key()
        now = int(self._clock())
        sent = request.cookies.get(self.identity.cookie_name)
        if sent is not None:
            verified = _verify(key, sent, now=now, max_age=self.identity.max_age)
            if verified is not None:
                owner_id, issued = verified
                if now - issued < min(_RENEW_AFTER, self.identity.max_age // 2):
                    return Owner(owner_id)
                return Owner(owner_id, self._set_cookie(request, key, owner_id, now))
            logger.debug("an anonymous owner cookie did not verify: a new owner was made")
        owner_id = f"anon_{secrets.token_hex(16)}"
        return Owner(owner_id, self._set_cookie(request, key, owner_id, now))

    def _set_cookie(self, request: Request, key: bytes, owner_id: str, now: int) -> str:
        identity = self.identity
        secure = identity.secure
        if secure is None:
            secure = request.url.scheme in ("https", "wss")
        header = (
            f"{identity.cookie_name}={_sign(key, owner_id, now)}; Max-Age={identity.max_age}; "
            "Path=/; HttpOnly; SameSite=Lax"
        )
        return header + "; Secure" if secure else header

    async def _kept_key(self) -> bytes:
        """The key from ``kept_secret``, fetched once however many requests ask at once;
        a failed fetch is tried again by the next request."""
        loop = asyncio.get_running_loop()
        fetching = self._fetching
        if fetching is None or fetching.get_loop() is not loop:
            fetching = loop.create_task(self._fetch_key())
            fetching.add_done_callback(_retrieve)
            self._fetching = fetching
        return await asyncio.shield(fetching)

    async def _fetch_key(self) -> bytes:
        assert self._kept_secret is not None
        try:
            secret = await self._kept_secret()
            if not isinstance(secret, bytes):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(f"kept_secret must return bytes; got {type(secret).__name__}")
            key = _signing_key(_secret_bytes(secret, "the secret kept_secret returned"))
        except BaseException:
            self._fetching = None
            raise
        self._key = key
        return key


def check_owner_id(owner_id: object, source: str) -> str:
    """``owner_id`` if it is an owner id: a ``str`` of 1 to 256 characters with no
    control characters or lone surrogates; ``TypeError`` / ``ValueError`` naming
    ``source`` otherwise."""
    if not isinstance(owner_id, str):
        raise TypeError(
            f"{source} must return an owner id (a str) or None; got {type(owner_id).__name__}"
        )
    if not 1 <= len(owner_id) <= MAX_OWNER_ID_CHARS:
        raise ValueError(
            f"{source} returned an owner id of {len(owner_id)} characters; "
            f"it must have 1 to {MAX_OWNER_ID_CHARS}"
        )
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in owner_id):
        raise ValueError(
            f"{source} returned an owner id with a control character or a lone surrogate"
        )
    return owner_id


def _secret_bytes(secret: object, source: str) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode("utf-8", "surrogatepass")
    if not isinstance(secret, bytes):
        raise TypeError(f"{source} must be str or bytes; got {type(secret).__name__}")
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(
            f"{source} is {len(secret)} bytes long; a secret that signs cookies needs "
            f"{MIN_SECRET_BYTES} random bytes or more: make one with {_HOW_TO_MAKE_A_SECRET}"
        )
    return secret


def _signing_key(secret: bytes) -> bytes:
    """A key for owner cookies only, so that the secret signs nothing else by accident."""
    return hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()


def _sign(key: bytes, owner_id: str, issued: int) -> str:
    payload = f"v1.{owner_id}.{issued}"
    return f"{payload}.{_signature(key, payload)}"


def _signature(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _verify(key: bytes, value: str, *, now: int, max_age: int) -> tuple[str, int] | None:
    """The owner id and issue date of a cookie this key signed, not expired; else None."""
    match = _COOKIE_VALUE.fullmatch(value)
    if match is None:
        return None
    owner_id, issued_text, signature = match.groups()
    expected = _signature(key, f"v1.{owner_id}.{issued_text}")
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    issued = int(issued_text)
    if issued > now + _CLOCK_SKEW or now - issued >= max_age:
        return None
    return owner_id, issued


_process_secret: list[bytes] = []
_process_secret_lock = threading.Lock()


def _process_key() -> bytes:
    """The key of this process's own random secret: every endpoint of the process signs
    with the same one, so their cookies agree. Logged once."""
    with _process_secret_lock:
        if not _process_secret:
            _process_secret.append(secrets.token_bytes(MIN_SECRET_BYTES))
            logger.warning(
                "the anonymous owner cookie has no configured secret; this process signs "
                "it with a random one, so anonymous owners lose their chats when it "
                "restarts. Set %s to 32 random bytes or more (%s) to keep them.",
                SECRET_ENV,
                _HOW_TO_MAKE_A_SECRET,
            )
        return _signing_key(_process_secret[0])


def _retrieve(task: asyncio.Task[bytes]) -> None:
    """Mark a failed fetch's exception as seen even if every request waiting on it left
    (the requests that did wait got it)."""
    if not task.cancelled():
        task.exception()
