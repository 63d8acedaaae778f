"""Media types the API answers with (a leaf module: errors and the OpenAPI plugin both use them)."""

#: RFC 9457 problem details: every error answer.
PROBLEM_MIME = "application/problem+json"
