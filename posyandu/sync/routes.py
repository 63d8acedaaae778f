"""HTTP routes for sync (thin: parse, check scope, call operations, dump)."""
from flask_smorest import Blueprint

blp = Blueprint("sync", __name__, url_prefix="/sync", description="sync")
