"""The auth tests' clean rate limiter for each i18n test (several sign in with wrong passwords)."""
from tests.auth.conftest import _fresh_rate_limits  # noqa: F401  (autouse fixture)
