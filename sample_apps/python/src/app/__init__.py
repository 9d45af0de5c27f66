"""Tiny Flask API that bench builds into images, one Dockerfile per technique."""

from __future__ import annotations

from flask import Flask, jsonify

__version__ = "1.6.0"
APP_NAME = "python"


def create_app(version: str = __version__) -> Flask:
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        # Liveness probe used by bench's smoke test and by orchestrators.
        return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}

    @app.get("/")
    def index():
        return jsonify(app=APP_NAME, version=version)

    @app.errorhandler(404)
    def not_found(_error):
        return jsonify(error="not found"), 404

    return app
