"""Demo data: Kabupaten Gresik (35.25). Filled in by the regions/demo work."""


def load_demo() -> str:
    return "demo data: nothing yet"
