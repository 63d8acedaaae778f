"""HTTP routes for measurements (thin: parse, check scope, call operations, dump)."""
from flask_smorest import Blueprint

blp = Blueprint("measurements", __name__, url_prefix="/measurements", description="measurements")
