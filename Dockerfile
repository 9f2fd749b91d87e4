# syntax=docker/dockerfile:1
# BHXH Assistant: multi-stage image, CPU-only PyTorch, model and knowledge base baked in, non-root.
#   docker build -t bhxh-assistant .
#   docker run -p 8000:8000 -v bhxh-data:/data bhxh-assistant          # SQLite in the /data volume
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: dependencies into a virtualenv ---------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# CPU-only PyTorch first, from PyTorch's CPU index: sentence-transformers would otherwise pull the
# CUDA build (several GB). At answer time torch is not even imported (numpy StaticEncoder).
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app app
COPY webhooks webhooks
# the project's dependencies (pinned torch stays); the project itself runs from /app below, so that
# models/ and knowledge_base/ are found next to the code
RUN pip install . && pip uninstall -y bhxh-assistant
COPY knowledge_base knowledge_base
COPY models models
COPY scripts/train_semantic.py scripts/train_semantic.py
# a broken knowledge base, a missing model or a trainer that cannot run fails the build, not the deployment
# (the model is retrained in the background from scripts/train_semantic.py: docs/model-retraining.md)
RUN PYTHONPATH=/src HF_HUB_OFFLINE=1 python -m app.cli kb validate \
 && PYTHONPATH=/src python -c "from app.retrieval import load_encoder; assert load_encoder('auto') is not None" \
 && HF_HUB_OFFLINE=1 python scripts/train_semantic.py --out /tmp/trainer-check --epochs 1 --parts 1 --dim 8 \
 && rm -rf /tmp/trainer-check

# --- runtime -------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 bhxh \
 && useradd --system --uid 10001 --gid bhxh --home-dir /app --no-create-home --shell /usr/sbin/nologin bhxh \
 && mkdir -p /data && chown bhxh:bhxh /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# code, model and knowledge base are owned by root: the service cannot change them
COPY app app
COPY webhooks webhooks
COPY models models
COPY knowledge_base knowledge_base
COPY scripts/train_semantic.py scripts/train_semantic.py
RUN printf '#!/bin/sh\nexec python -m app.cli "$@"\n' > /usr/local/bin/bhxh-bot && chmod 755 /usr/local/bin/bhxh-bot \
 && python -m compileall -q app webhooks
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATABASE_URL=sqlite:////data/bhxh.db \
    KNOWLEDGE_BASE_DIR=/app/knowledge_base \
    LOG_FORMAT=json
USER bhxh
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["bhxh-bot", "serve"]
