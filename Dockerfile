# The cohortplan image (the worker, and the HTTP API with `serve`): the project installed from its own pyproject,
# nothing else.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md cohortplan_cli.py ./
COPY engine ./engine
COPY solver ./solver
COPY streams ./streams
COPY simulator ./simulator
COPY api ./api
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 cohortplan && mkdir -p /data \
    && chown cohortplan /data
USER cohortplan
WORKDIR /data
ENV COHORTPLAN_OUTPUT_DIR=/data/out COHORTPLAN_DATA_DIR=/data/faust COHORTPLAN_WEB_HOST=0.0.0.0
EXPOSE 6066 8000
ENTRYPOINT ["cohortplan"]
CMD ["worker"]
