"""The Flask extensions, created unbound here and bound to an app in ``create_app``."""
from flask_login import LoginManager
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from .models.base import Base

db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
mail = Mail()
csrf = CSRFProtect()
login_manager = LoginManager()
