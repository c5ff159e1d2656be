"""The API's routes, one module per resource; :data:`ROUTERS` is what the app includes."""
from __future__ import annotations

from api.routes import alerts, dead_letters, health, plans, referrals, reports, waiting_list

ROUTERS = (health.router, waiting_list.router, referrals.router, plans.router, alerts.router, reports.router,
           dead_letters.router)
