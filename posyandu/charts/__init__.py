"""Growth charts: a child's KMS-style charts, and an area's z-score distribution and trend."""
