"""HTTP routes for auth (thin: parse, check scope, call operations, dump)."""
from flask_smorest import Blueprint

blp = Blueprint("auth", __name__, url_prefix="/auth", description="auth")
