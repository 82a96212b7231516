"""One module per resource; :func:`api.http.app.create_app` includes every module's ``router``."""
