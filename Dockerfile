# b24-dedupe: one image for every process (web, worker, review, doctor, restore, emulator,
# demo).
#   docker build -t b24-dedupe .
#   docker run --rm --env-file .env b24-dedupe doctor
# Two stages: the first builds the virtual environment, the second gets only that
# environment, so no compiler, headers or build cache reach the image that runs.

# Pinned: a rebuild gets the same base until the tag is changed on purpose.
ARG PYTHON_IMAGE=python:3.11.9-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY b24 ./b24
COPY b24_dedupe ./b24_dedupe
COPY webhooks_in ./webhooks_in
COPY worker ./worker
COPY review_web ./review_web
COPY commands ./commands
RUN pip install .

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# A system user without a shell; its home holds the audit journal (a volume in compose).
RUN groupadd --system --gid 10001 b24 \
    && useradd --system --uid 10001 --gid b24 --home-dir /var/lib/b24-dedupe \
        --create-home --shell /usr/sbin/nologin b24 \
    && mkdir -p /var/lib/b24-dedupe/journal \
    && chown -R b24:b24 /var/lib/b24-dedupe
COPY --from=build /opt/venv /opt/venv
USER b24
WORKDIR /var/lib/b24-dedupe
EXPOSE 8080
ENTRYPOINT ["b24-dedupe"]
CMD ["--help"]
