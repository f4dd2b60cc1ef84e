"""Catalog API: GET /catalog/products (public)."""

import shared.init_phase  # noqa: F401 - first: pauses the collector for the init

from shared.dal.catalog import Catalog
from shared.http import answers, create_app, lambda_handler_for
from shared.schemas import ProductOut, product_out

app = create_app()
catalog = Catalog()


@app.get("/catalog/products", tags=["Catálogo"], summary="Productos a la venta y sus precios", responses=answers())
def list_products() -> list[ProductOut]:
    # What the panel offers (POST /me/orders refuses the rest): a retired plan stays for staff orders only.
    return [product_out(p) for p in catalog.list_catalog() if p.orderable]


lambda_handler = lambda_handler_for(app)
