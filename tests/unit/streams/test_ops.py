"""The URLs a worker logs at start-up carry no secrets."""
from __future__ import annotations

import pytest

from streams.ops import without_secrets


@pytest.mark.parametrize("url, logged", [
    ("postgresql+psycopg://cohortplan:s3cr3t@db:5432/cohortplan", "postgresql+psycopg://cohortplan:***@db:5432/cohortplan"),
    ("postgresql+psycopg://cohortplan@db/cp?sslmode=require&password=s3cr3t",
     "postgresql+psycopg://cohortplan@db/cp?sslmode=require&password=***"),
    ("sqlite:////var/lib/cohortplan/service.db", "sqlite:////var/lib/cohortplan/service.db"),
    ("sqlite:///out/cohortplan.db", "sqlite:///out/cohortplan.db"),
    ("kafka://user:pw@b1:9092;kafka://b2:9092", "kafka://user:***@b1:9092;kafka://b2:9092"),
])
def test_a_logged_url_keeps_where_it_points_and_masks_its_secrets(url, logged):
    assert without_secrets(url) == logged
    assert "s3cr3t" not in without_secrets(url) and ":pw@" not in without_secrets(url)
