"""Passwords, SIP digests and one-time codes (R8-R12, SPEC section 10).

Plaintext secrets only ever live in the return values handed to the caller;
what is stored is a digest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from onenet_tui.data.errors import FieldError
from onenet_tui.data.validation import has_control

# No look-alikes (0/O, 1/l/I), letters and digits only (R11).
SYSTEM_ALPHABET = "".join(
    ch for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" if ch not in "0O1lI"
)
SYSTEM_PASSWORD_LENGTH = 20
ADMIN_PASSWORD_MIN = 10
ADMIN_PASSWORD_MAX = 60
FORBIDDEN_FIRST = ("=", "+", "-", "@")
ACTIVATION_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# R11's "digit" is one a person types on a phone's keypad: str.isdigit() would
# also take Arabic-Indic ١ or superscript ².
DIGITS = frozenset("0123456789")


# Largest multiple of the alphabet size that fits in a byte: bytes above it are
# dropped, so every character stays equally likely (no modulo bias).
_UNBIASED_LIMIT = 256 - 256 % len(SYSTEM_ALPHABET)


def system_password() -> str:
    """R11: random letters and digits from ``secrets``. One OS read per password
    instead of one per character: bulk resets of 10,000 users stay fast."""
    chars: list[str] = []
    while len(chars) < SYSTEM_PASSWORD_LENGTH:
        chars += [SYSTEM_ALPHABET[b % len(SYSTEM_ALPHABET)] for b in secrets.token_bytes(32) if b < _UNBIASED_LIMIT]
    return "".join(chars[:SYSTEM_PASSWORD_LENGTH])


def admin_password_errors(password: str, sip_username: str = "", extension: str = "") -> list[FieldError]:
    """Why an admin-chosen password breaks R11; empty when it is acceptable."""
    problems: list[FieldError] = []

    def refuse(key: str, **params: object) -> None:
        problems.append(FieldError("password", key, params))

    if not ADMIN_PASSWORD_MIN <= len(password) <= ADMIN_PASSWORD_MAX:
        refuse("r11.length", min=ADMIN_PASSWORD_MIN, max=ADMIN_PASSWORD_MAX)
    if not any(ch.isalpha() for ch in password) or not any(ch in DIGITS for ch in password):
        refuse("r11.letter_and_digit")
    if has_control(password):
        refuse("r11.control")
    if password[:1].isspace() or password.startswith(FORBIDDEN_FIRST):
        refuse("r11.first_character")
    lowered = password.lower()
    if sip_username and sip_username.lower() in lowered:
        refuse("r11.contains_username")
    if extension and extension in password:
        refuse("r11.contains_extension")
    return problems


def ha1(username: str, realm: str, password: str, algorithm: str) -> str:
    """HA1 = H(username:realm:password), as a SIP registrar stores it (RFC 7616 / 8760)."""
    data = f"{username}:{realm}:{password}".encode()
    return hashlib.new(algorithm, data).hexdigest()


def activation_code() -> str:
    groups = ["".join(secrets.choice(ACTIVATION_CODE_ALPHABET) for _ in range(4)) for _ in range(3)]
    return "-".join(groups)


def digest_code(code: str) -> str:
    """Salted PBKDF2 of a one-time code, stored as ``salt$hash``."""
    salt = secrets.token_hex(16)
    derived = hashlib.pbkdf2_hmac("sha256", code.encode(), bytes.fromhex(salt), 100_000).hex()
    return f"{salt}${derived}"


def code_matches(code: str, stored: str) -> bool:
    salt, expected = stored.split("$", 1)
    derived = hashlib.pbkdf2_hmac("sha256", code.encode(), bytes.fromhex(salt), 100_000).hex()
    return hmac.compare_digest(derived, expected)
