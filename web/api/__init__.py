"""The JSON API under /api/v1, described by OpenAPI 3 at /api/openapi.json."""

from __future__ import annotations

from flask import Blueprint, Flask
from swagger_ui_bundle import swagger_ui_path

from web.api.openapi import ClinicApi, build_api


def init_api(app: Flask) -> ClinicApi:
    app.config.update(
        API_TITLE="Clinic API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/swagger-ui/",
    )
    api = build_api(app)
    # Swagger UI's own files, served from the installed package: the docs work offline.
    app.register_blueprint(
        Blueprint(
            "swagger_ui",
            __name__,
            static_folder=str(swagger_ui_path),
            static_url_path=app.config["OPENAPI_SWAGGER_UI_URL"].rstrip("/"),
        )
    )

    from web.api import jobs

    api.register_blueprint(jobs.blp)
    return api
