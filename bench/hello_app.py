"""The peer for the vote benchmark: the smallest Flask app, served by the same gunicorn settings.

``gunicorn -c deploy/gunicorn.conf.py bench.hello_app:app``
"""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
