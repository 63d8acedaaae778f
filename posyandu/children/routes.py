"""HTTP routes for children (thin: parse, check scope, call operations, dump)."""
from flask_smorest import Blueprint

blp = Blueprint("children", __name__, url_prefix="/children", description="children")
