"""Data quality of the growth register: SMART plausibility scores and register checks per
posyandu and per cadre, for an area and a month or range of months (JSON and .xlsx)."""
