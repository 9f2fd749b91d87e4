# syntax=docker/dockerfile:1
# BHXH Assistant: multi-stage image on Debian 12 (bookworm) slim, CPU-only PyTorch, model and knowledge base
# baked in, non-root. docs/deployment-image.md explains the build; in short:
#   python3 scripts/image.py all      # CI: buildah, from a base debootstrapped here (no registry), then run and checked
#   docker build --build-arg BASE_IMAGE=debian:bookworm-slim --secret id=pip.conf,src=PIP_CONF -t bhxh-assistant .
# where PIP_CONF is a pip configuration file naming an index that carries the CPU-only torch wheel (see the docs).
#   docker run -p 8000:8000 -v bhxh-data:/data bhxh-assistant          # SQLite in the /data volume
# The base must be Debian bookworm: the virtualenv made in the build stage runs on the runtime stage's python3.
ARG BASE_IMAGE=localhost/bhxh-debian:bookworm-slim

# --- build: dependencies into a virtualenv ---------------------------------------------------
FROM ${BASE_IMAGE} AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
# pip's indexes come from the builder, never from this file: the pip configuration handed in as the
# build secret "pip.conf" (scripts/image.py passes the machine's own; without it pip uses its default index)
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_CONFIG_FILE=/run/secrets/pip.conf
# CPU-only PyTorch first: sentence-transformers would otherwise pull the CUDA build (several GB). The build
# fails rather than ship a CUDA build when the configured indexes offer no CPU wheel.
# At answer time torch is not even imported (numpy StaticEncoder).
RUN --mount=type=secret,id=pip.conf pip install torch==2.13.0 \
 && python -c "import torch; assert torch.version.cuda is None, 'a CUDA build of torch: give pip an index with the CPU wheel'"
WORKDIR /src
# the project's dependencies only, read from pyproject.toml (the pinned torch stays): this layer is rebuilt
# when they change, not on every code change; the project itself runs from /app below, so that models/ and
# knowledge_base/ are found next to the code
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > requirements.txt
RUN --mount=type=secret,id=pip.conf pip install -r requirements.txt \
 && python -c "import torch; assert torch.version.cuda is None, 'torch was replaced by a CUDA build'"
# torch's C++ headers and test binaries serve no purpose at run time (about 145 MB)
RUN rm -rf /opt/venv/lib/python3*/site-packages/torch/include /opt/venv/lib/python3*/site-packages/torch/test \
 && python -c "import torch, sentence_transformers"
COPY app app
COPY webhooks webhooks
COPY knowledge_base knowledge_base
COPY models models
COPY scripts/train_semantic.py scripts/train_semantic.py
# a broken knowledge base, a missing model or a trainer that cannot run fails the build, not the deployment
# (the model is retrained in the background from scripts/train_semantic.py: docs/model-retraining.md)
RUN PYTHONPATH=/src HF_HUB_OFFLINE=1 python -m app.cli kb validate \
 && PYTHONPATH=/src python -c "from app.semantic import load_encoder; assert load_encoder('auto') is not None" \
 && HF_HUB_OFFLINE=1 python scripts/train_semantic.py --out /tmp/trainer-check --epochs 1 --parts 1 --dim 8 \
 && rm -rf /tmp/trainer-check

# --- runtime -------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# the interpreter the virtualenv links to (/usr/bin/python3), nothing else
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && groupadd --system --gid 10001 bhxh \
 && useradd --system --uid 10001 --gid bhxh --home-dir /app --no-create-home --shell /usr/sbin/nologin bhxh \
 && mkdir -p /data && chown bhxh:bhxh /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# code, model and knowledge base are owned by root, readable by all (whatever the files' modes in the build
# context), so the service can read them and cannot change them
COPY app app
COPY webhooks webhooks
COPY models models
COPY knowledge_base knowledge_base
COPY scripts/train_semantic.py scripts/train_semantic.py
RUN printf '#!/bin/sh\nexec /opt/venv/bin/python -m app.cli "$@"\n' > /usr/local/bin/bhxh-bot \
 && chmod 755 /usr/local/bin/bhxh-bot \
 && /opt/venv/bin/python -m compileall -q app webhooks \
 && chmod -R a+rX app webhooks models knowledge_base scripts
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
# HEALTHCHECK is kept only in the Docker image format (buildah bud --format docker; OCI has no such field)
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
CMD ["bhxh-bot", "serve"]
