"""HTTP routes for audit (thin: parse, check scope, call operations, dump)."""
from flask_smorest import Blueprint

blp = Blueprint("audit", __name__, url_prefix="/audit", description="audit")
