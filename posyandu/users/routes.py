"""HTTP routes for users (thin: parse, check scope, call operations, dump)."""
from flask_smorest import Blueprint

blp = Blueprint("users", __name__, url_prefix="/users", description="User administration")
