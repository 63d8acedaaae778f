"""HTTP routes for regions (thin: parse, check scope, call operations, dump)."""
from flask_smorest import Blueprint

blp = Blueprint("regions", __name__, url_prefix="/regions", description="regions")
