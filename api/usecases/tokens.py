"""Managing the HTTP API's tokens: add, list, revoke (docs/contract.md, "Identity and access").

Tokens are managed at the server's command line only: the operator there may do anything,
and no token may make another. A token's name becomes the ``recorded_by`` of every write made
with it, so a name is never given twice, not even after a revocation.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.bootstrap import App
from api.identity.tokens import TokenRecord
from domain.access import EVERY_PROVINCE, AccessDenied, Principal, Role
from domain.errors import InvalidInput
from domain.regions import RegionLevel, check_region, level_of

MAX_NAME_LENGTH = 64


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``token`` is shown to the operator once and never again."""

    token: str
    record: TokenRecord


def _operator_only(who: Principal) -> None:
    if not who.is_operator:
        raise AccessDenied(
            f"{who.name}: tokens are managed at the server's command line only", field="token"
        )


def check_token_name(name: str) -> str:
    """A name is 1 to 64 printable characters without spaces: it is written on every event."""
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise InvalidInput(f"a token name has 1 to {MAX_NAME_LENGTH} characters", field="name")
    if not name.isprintable() or any(c.isspace() for c in name):
        raise InvalidInput(
            f"{name!r}: a token name has no spaces or control characters", field="name"
        )
    return name


def check_role(role: str) -> Role:
    """One of the three roles of the access matrix."""
    try:
        return Role(role)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise InvalidInput(f"{role!r} is not a role: one of {names}", field="role") from None


def check_role_region(role: Role, region: str) -> str:
    """The region a role may be bound to (docs/contract.md, "Identity and access").

    A municipal token is bound to a city or county, a provincial one to a province, an
    auditor to a province or to ``000000`` (every province).
    """
    if role is Role.AUDITOR and region == EVERY_PROVINCE:
        return region
    check_region(region)
    level = level_of(region)
    if role is Role.MUNICIPAL and level is RegionLevel.PROVINCE:
        raise InvalidInput(
            f"{region}: a municipal token is bound to a city or county code", field="region"
        )
    if role is not Role.MUNICIPAL and level is not RegionLevel.PROVINCE:
        also = f" (or {EVERY_PROVINCE} for every province)" if role is Role.AUDITOR else ""
        raise InvalidInput(
            f"{region}: a {role} token is bound to a province code{also}", field="region"
        )
    return region


def add_token(app: App, who: Principal, name: str, role: str, region: str) -> IssuedToken:
    """Make a token for ``name`` with a role and region; the token is in the answer only.

    Raises:
        InvalidInput: a malformed name, an unknown role, a region the role cannot have.
        Conflict: the name already has a token.
    """
    _operator_only(who)
    checked_role = check_role(role)
    region = check_role_region(checked_role, region)
    token, record = app.tokens.add(check_token_name(name), checked_role, region)
    return IssuedToken(token=token, record=record)


def list_tokens(app: App, who: Principal) -> list[TokenRecord]:
    """Every token's name, role, region, creation and revocation; never a token or hash."""
    _operator_only(who)
    return app.tokens.list()


def revoke_token(app: App, who: Principal, name: str) -> TokenRecord:
    """Revoke a token: refused from the next request on, in every server process.

    Raises:
        NotFound: no token has that name.
    """
    _operator_only(who)
    return app.tokens.revoke(name)
