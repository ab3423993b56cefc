"""The web app: FastAPI, with the Inngest functions served next to the API."""

import fastapi
import inngest.fast_api

from shop.client import inngest_client
from shop.functions import functions

app = fastapi.FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


inngest.fast_api.serve(app, inngest_client, functions)
