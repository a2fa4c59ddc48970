"""A one-page control panel for a sandbox store, so the demo needs a browser and nothing else."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, redirect, render_template_string, request, url_for


@dataclass(frozen=True)
class PageProduct:
    #: What ``place_order`` receives for this product (its SKU, or its id when it has none).
    key: str
    sku: str
    name: str
    quantity: int


@dataclass(frozen=True)
class PageOrder:
    id: int
    number: str
    status: str
    total: str
    #: The buttons this order offers: (action, label), e.g. ("complete", "Complete").
    actions: list[tuple[str, str]] = field(default_factory=list)


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#1d2a35}
table{border-collapse:collapse;width:100%;margin-block:1rem}td,th{border:1px solid #d8dee4;padding:.35rem .5rem;text-align:start}
form.inline{display:inline}button{font:inherit;padding:.3rem .7rem;margin:.1rem}.note{background:#e7f4ee;padding:.5rem}</style>
</head><body><h1>{{ title }}</h1>
<p>A sandbox store: what you do here is sent to the ERP as signed webhooks, as the real platform would.</p>
{% if message %}<p class="note" id="message">{{ message }}</p>{% endif %}
<h2>Place an order</h2>
<form method="post" action="{{ url_for('sandbox_page_order') }}" id="new-order">
{% for i in range(3) %}<p><select name="sku_{{ i }}"><option value="">—</option>
{% for p in products %}<option value="{{ p.key }}">{{ p.sku or "(no SKU)" }} · {{ p.name }}</option>{% endfor %}</select>
<input name="qty_{{ i }}" type="number" min="1" value="1" style="width:5rem"></p>{% endfor %}
<p><label>Shipping <input name="shipping" value="0" style="width:6rem"></label></p>
<button type="submit" id="place-order">Place order</button></form>
<h2>Orders</h2><table id="orders"><tr><th>Number</th><th>Status</th><th>Total</th><th></th></tr>
{% for o in orders %}<tr data-order="{{ o.number }}"><td>{{ o.number }}</td><td>{{ o.status }}</td><td>{{ o.total }}</td><td>
{% for action, label in o.actions %}<form class="inline" method="post" action="{{ url_for('sandbox_page_action', order_id=o.id, action=action) }}">
<button type="submit" class="{{ action }}">{{ label }}</button></form>{% endfor %}</td></tr>
{% else %}<tr><td colspan="4">No orders yet.</td></tr>{% endfor %}</table>
<h2>Connect it to the ERP</h2>
<p>In Mizan: Stores → New store → {{ platform }}; enter these credentials, save, then "Activate integration".</p>
<table id="credentials">{% for name, value in credentials.items() %}<tr><th>{{ name }}</th><td><code>{{ value }}</code></td></tr>{% endfor %}</table>
{% if webhook_target is not none %}
<form method="post" action="{{ url_for('sandbox_page_target') }}" id="webhook-target">
<p>This platform sends its webhooks to one address: paste the store's webhook URL from Mizan here.</p>
<input name="url" value="{{ webhook_target or '' }}" size="70"> <button type="submit">Send webhooks there</button></form>
{% endif %}
<h2>Products</h2><table id="products"><tr><th>SKU</th><th>Name</th><th>Quantity</th></tr>
{% for p in products %}<tr data-product="{{ p.key }}"><td>{% if p.sku %}{{ p.sku }}{% else %}
<form class="inline" method="post" action="{{ url_for('sandbox_page_sku', key=p.key) }}">(no SKU)
<input name="sku" size="10" placeholder="SKU"> <button type="submit" class="give-sku">Give it an SKU</button></form>{% endif %}</td>
<td>{{ p.name }}</td><td>{{ p.quantity }}</td></tr>{% endfor %}</table>
</body></html>"""


def add_control_page(
    app: Flask,
    title: str,
    products: Callable[[], list[PageProduct]],
    orders: Callable[[], list[PageOrder]],
    place_order: Callable[[list[tuple[str, int]], str], str],
    act: Callable[[int, str], str],
    credentials: Callable[[str], dict[str, str]],
    give_sku: Callable[[str, str], str],
    webhook_target: Callable[[], str | None] | None = None,
    set_webhook_target: Callable[[str], None] | None = None,
) -> None:
    """Serve the panel at ``/_sandbox/``; ``place_order`` and ``act`` return a message to show.

    ``credentials(url)`` gives what the ERP's wizard asks for; platforms that send webhooks to
    one configured address (not registered by the ERP) pass ``webhook_target``/``set_webhook_target``.
    """

    @app.get("/_sandbox/")
    def sandbox_page() -> str:
        return render_template_string(
            PAGE, title=title, products=products(), orders=orders(), message=request.args.get("message"),
            platform=title.split(" ")[0], credentials=credentials(request.host_url.rstrip("/")),
            webhook_target=(webhook_target() or "") if webhook_target else None,
        )

    @app.post("/_sandbox/ui/products/<key>/sku")
    def sandbox_page_sku(key: str):  # noqa: ANN202
        sku = request.form.get("sku", "").strip()
        if not sku:
            return redirect(url_for("sandbox_page", message="Type an SKU first."))
        return redirect(url_for("sandbox_page", message=_attempt(lambda: give_sku(key, sku))))

    @app.post("/_sandbox/ui/webhook-target")
    def sandbox_page_target():  # noqa: ANN202
        if set_webhook_target is None:
            return redirect(url_for("sandbox_page", message="This platform's webhooks are registered by the ERP."))
        set_webhook_target(request.form.get("url", "").strip() or None)
        return redirect(url_for("sandbox_page", message="Webhooks now go to " + (request.form.get("url") or "nowhere")))

    @app.post("/_sandbox/ui/orders")
    def sandbox_page_order():  # noqa: ANN202
        items = [
            (request.form[f"sku_{i}"], max(1, int(request.form.get(f"qty_{i}") or 1)))
            for i in range(3)
            if request.form.get(f"sku_{i}")
        ]
        if not items:
            return redirect(url_for("sandbox_page", message="Choose a product."))
        return redirect(url_for("sandbox_page", message=_attempt(lambda: place_order(items, request.form.get("shipping") or "0"))))

    @app.post("/_sandbox/ui/orders/<int:order_id>/<action>")
    def sandbox_page_action(order_id: int, action: str):  # noqa: ANN202
        return redirect(url_for("sandbox_page", message=_attempt(lambda: act(order_id, action))))


def _attempt(step: Callable[[], str]) -> str:
    """The step's message, or what went wrong (e.g. no webhook target yet), never a 500."""
    try:
        return step()
    except Exception as error:  # a development tool: show the problem on the page
        return f"Not done: {type(error).__name__}: {error}"
