"""The API's routes, one module per resource; :data:`ROUTERS` is what the app includes."""
from __future__ import annotations

from api.routes import alert_workflow, alerts, dead_letters, health, jobs, plans, redrive, referrals, reports, waiting_list
from api.routes import subject_access
from api.routes import overrides

ROUTERS = (health.router, waiting_list.router, referrals.router, plans.router, alerts.router, alert_workflow.router, reports.router,
           dead_letters.router, jobs.router, redrive.router, subject_access.router,
           overrides.router)
