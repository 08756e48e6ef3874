# Weeknote's image: web (gunicorn), worker and beat all run it (see docker-compose.yml).
# Stage 1 builds the virtual environment, with compilers in case a dependency has no wheel.
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
WORKDIR /app
COPY pyproject.toml README.md ./
COPY blog blog
COPY worker worker
# Editable: the app finds templates/, static/ and migrations/ beside the blog package, in /app.
RUN /venv/bin/pip install -e .

# Stage 2: the interpreter, the virtual environment and the code; no compilers, no build tools.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin weeknote
COPY --from=build /venv /venv
COPY --from=build /app /app
WORKDIR /app
COPY gunicorn.conf.py ./
COPY migrations migrations
COPY templates templates
COPY static static
# instance/ holds media and the outbox (a volume in compose); the code stays read-only to the app.
RUN mkdir -p instance && chown weeknote:weeknote instance
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PORT=8000
USER weeknote
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "blog:create_app()"]
