"""The HTTP adapter: the FastAPI app, its dependencies, the problem mapping and the routers."""
