"""WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""
import gc

from posyandu import create_app

app = create_app()

# The app's long-lived objects (SQLAlchemy metadata, WHO tables, schemas: ~160,000 of them)
# would be scanned by every full garbage collection, ~100 ms that stalls a worker's request
# every thousand requests or so. They live as long as the process: move them out of the
# collector's sight (gc.freeze). Each gunicorn worker imports this module itself.
gc.collect()
gc.freeze()
