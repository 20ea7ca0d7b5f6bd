# ordersync: one image for the webhook API, the Celery worker, beat and the simulators.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY connectors ./connectors
COPY mappings ./mappings
COPY sync ./sync
COPY workers ./workers
COPY simulators ./simulators
RUN pip install ".[postgres]" && useradd --create-home --uid 10001 ordersync
USER ordersync
ENV ORDERSYNC_CONFIG=/etc/ordersync/ordersync.toml
ENTRYPOINT ["ordersync"]
CMD ["--help"]
